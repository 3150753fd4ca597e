"""Scalar-table rows as kernel IR scalar expressions, with the casts codegen requires.

codegen's functions take arguments of one dtype; symc's rows follow NumPy's
promotion. Each row is computed in the dtype NumPy computes it in (the
result dtype for arithmetic, the promoted input dtype for comparisons), so
``int32 + float32 -> float64`` casts both operands to float64 first.
"""

from __future__ import annotations

import numpy as np

from codegen import ir

from .context import cast

_LOGICAL = {"logical_and", "logical_or", "logical_xor", "logical_not"}
_COMPARE = {"lt", "le", "gt", "ge", "eq", "ne"}
#: bool arithmetic in NumPy is logic
_BOOL_ARITH = {"add": "logical_or", "mul": "logical_and"}


def row_expr(fn: str, args: list, out_dtype: str):
    """The expression of row ``fn`` applied to ``args``, as ``out_dtype``."""
    if out_dtype not in ir.DTYPES:
        from ..errors import SymcCompileError

        raise SymcCompileError(f"{fn}: the C backend has no {out_dtype} arrays.")
    if fn == "where":
        cond, a, b = args
        return ir.Select(cast(cond, "bool"), cast(a, out_dtype), cast(b, out_dtype))
    if fn in _LOGICAL:
        return cast(ir.Call(fn, tuple(cast(a, "bool") for a in args)), out_dtype)
    if fn in _COMPARE:
        common = np.result_type(*(np.dtype(a.dtype) for a in args)).name
        return cast(ir.Call(fn, tuple(cast(a, common) for a in args)), out_dtype)
    if fn in ("isnan", "isinf"):
        return cast(ir.Call(fn, (args[0],)), out_dtype)
    if out_dtype == "bool":
        if fn in _BOOL_ARITH:
            return ir.Call(_BOOL_ARITH[fn], tuple(cast(a, "bool") for a in args))
        if fn in ("square", "abs", "floor", "ceil", "round", "sign"):
            return cast(args[0], "bool")
    work = out_dtype
    if ir.DTYPES[out_dtype][2] == "f" and any(ir.DTYPES[a.dtype][2] != "f" for a in args):
        # an integer input of a float row: NumPy computes in float64, symc rounds to floatX
        if all(ir.DTYPES[a.dtype][2] != "f" for a in args):
            work = "float64"
    return cast(ir.Call(fn, tuple(cast(a, work) for a in args)), out_dtype)
