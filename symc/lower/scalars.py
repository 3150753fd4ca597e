"""Integer scalar nodes as :data:`codegen.ir.Dim` s: lengths, slice bounds, indices.

A length in symc is a graph (``ShapeI`` of a value, arithmetic on it, a
scalar argument). Lowered as a Dim it is computed in ``P_shapes`` before
anything runs, so output shapes and offsets may depend on it. A length
computed from array data (a sum, an element) cannot be, and is refused.
"""

from __future__ import annotations

import numpy as np

from codegen import ir

from .. import dtypes
from ..ops.alloc import ShapeI
from ..ops.composite import Composite, literal_value
from ..ops.elemwise import Cast, Elemwise
from ..ops.leaves import Constant, Input, Shared
from . import dims as D

_ARITH = {
    "add": D.add,
    "sub": D.sub,
    "mul": D.mul,
    "floordiv": D.floordiv,
    "maximum": D.dmax,
    "minimum": D.dmin,
}


def is_dim_node(node) -> bool:
    """True when ``node`` is an integer scalar computable from shapes and scalar inputs."""
    if node.type.ndim != 0 or not dtypes.is_int(node.type.dtype):
        return False
    op = node.op
    if isinstance(op, (ShapeI, Constant)):
        return True
    if isinstance(op, Elemwise) and (op.fn in _ARITH or op.fn == "neg"):
        return all(is_dim_node(x) for x in node.inputs)
    if isinstance(op, Cast):
        return is_dim_node(node.inputs[0])
    if isinstance(op, Composite):
        return _integer_steps(op) and all(is_dim_node(x) for x in node.inputs)
    return False


def _integer_steps(op: Composite) -> bool:
    return all(
        (fn in _ARITH or fn == "neg" or fn == "cast") and dtypes.is_int(dt)
        for fn, _, dt in op.steps
    )


def _composite_dim(ctx, node):
    got: list = []
    for fn, args, _dt in node.op.steps:
        ins = []
        for a in args:
            if a[0] == "in":
                ins.append(scalar_dim(ctx, node.inputs[a[1]]))
            elif a[0] == "step":
                ins.append(got[a[1]])
            else:
                ins.append(int(literal_value(a)))
        if fn == "cast":
            got.append(ins[0])
        elif fn == "neg":
            got.append(D.sub(0, ins[0]))
        else:
            got.append(_ARITH[fn](*ins))
    return got[-1]


def scalar_dim(ctx, node):
    """The Dim of an integer scalar node (raises SymcCompileError when data-dependent)."""
    op = node.op
    if node.type.ndim != 0 or not (dtypes.is_int(node.type.dtype)):
        raise ctx.error(f"a length or index must be an integer scalar, got {node.type.describe()}.")
    if isinstance(op, Constant):
        return int(np.asarray(op.value))
    if isinstance(op, ShapeI):
        return ctx.val(node.inputs[0]).shape[op.axis]
    if isinstance(op, (Input, Shared)):
        known = ctx.loops.get(("dim", id(node)))  # a loop body's input bound to a length
        if known is not None:
            return known
        v = ctx.val(node)
        if v.buffer.role != "input" or v.offset != 0:
            # a loop body's input bound to computed data, or to a row of a sequence
            raise ctx.error(
                f"the C backend needs lengths and indices computed from shapes, constants "
                f"and integer scalar arguments; inside a scan, {node.name or 'this value'} "
                f"is array data (a row, a state, or a value computed outside the loop).",
                node,
            )
        return ir.Value(v.buffer)
    if isinstance(op, Elemwise) and op.fn in _ARITH:
        a, b = (scalar_dim(ctx, x) for x in node.inputs)
        return _ARITH[op.fn](a, b)
    if isinstance(op, Elemwise) and op.fn == "neg":
        return D.sub(0, scalar_dim(ctx, node.inputs[0]))
    if isinstance(op, Cast) and dtypes.is_int(node.inputs[0].type.dtype):
        return scalar_dim(ctx, node.inputs[0])
    if isinstance(op, Composite) and _integer_steps(op):  # inputs may be scalar arguments
        return _composite_dim(ctx, node)
    if getattr(op, "result", None) == ("steps",):  # how many steps a scan ran
        from .scan import loop_steps

        return loop_steps(ctx, node)
    raise ctx.error(
        f"the C backend needs lengths and indices computed from shapes, constants and "
        f"integer scalar arguments; {op.label()} computes one from array data.",
        node,
    )
