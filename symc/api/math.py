"""NumPy-like elementwise functions: arithmetic, math functions, comparisons, ``where``."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .. import dtypes
from ..errors import SymcTypeError
from ..graph.location import user_location, with_location
from ..graph.node import Node, apply
from ..ops.elemwise import Cast, Elemwise
from ..ops.leaves import Constant
from .convert import _is_python_scalar, as_node, as_nodes, constant

_OPS: dict[str, Elemwise] = {}
_FLOATS = frozenset(dtypes.FLOATS)


def elemwise(fn: str, *args: Any) -> Node:
    """Apply the scalar-table function ``fn`` elementwise, with NumPy broadcasting.

    Python scalars are weak (``x32 * 2.0`` is float32). Integer and boolean
    operands are converted to ``config.floatX`` first (a ``cast`` in the
    graph) by a floating function (``exp(i)``, ``i / j``) and by arithmetic
    with a Python float (``i * 2.5``): both give floatX, where NumPy would
    give float16 or float64 depending on the integer dtype.
    """
    op = _OPS.get(fn)
    if op is None:
        op = _OPS[fn] = Elemwise(fn)
    if all(a.__class__ is Node and a.type.dtype in _FLOATS for a in args):
        return apply(op, args)  # the common case: no conversion, no promotion rule
    nodes = as_nodes(*args, op=fn)
    strong = [n for n, a in zip(nodes, args, strict=True) if not _is_python_scalar(a)]
    if not any(dtypes.is_float(n.type.dtype) for n in strong):
        kind = op.row.kind
        if kind == "float" or (kind == "numpy" and any(_is_python_float(a) for a in args)):
            # where's condition stays bool; its branches follow the rule
            first = 1 if fn == "where" else 0
            nodes = nodes[:first] + [_to_float(n) for n in nodes[first:]]
    return apply(op, nodes)


def _is_python_float(x: Any) -> bool:
    return isinstance(x, float) and not isinstance(x, np.generic)


def _to_float(x: Node) -> Node:
    if isinstance(x.op, Constant):
        return constant(x.op.value.astype(dtypes.config.floatX))
    return cast(x, dtypes.config.floatX)


def _unary(fn: str, doc: str):
    def f(x: Any) -> Node:
        return elemwise(fn, x)

    f.__name__ = f.__qualname__ = fn
    f.__doc__ = doc
    return f


def _binary(fn: str, doc: str, public: str | None = None):
    def f(x: Any, y: Any) -> Node:
        return elemwise(fn, x, y)

    f.__name__ = f.__qualname__ = public or fn
    f.__doc__ = doc
    return f


add = _binary("add", "``x + y``.")
subtract = _binary("sub", "``x - y``.", "subtract")
multiply = _binary("mul", "``x * y``.", "multiply")
true_divide = _binary("truediv", "``x / y``; int / int gives floatX.", "true_divide")
divide = true_divide
floor_divide = _binary("floordiv", "``x // y`` (NumPy's sign rules).", "floor_divide")
mod = _binary("mod", "``x % y`` (result has the sign of ``y``, as in NumPy).")
power = _binary("pow", "``x ** y``.", "power")
maximum = _binary("maximum", "Elementwise maximum (NaN propagates).")
minimum = _binary("minimum", "Elementwise minimum (NaN propagates).")
arctan2 = _binary("arctan2", "``arctan(y / x)`` with the quadrant of ``(x, y)``.")
logaddexp = _binary("logaddexp", "``log(exp(x) + exp(y))`` without overflow.")
hypot = _binary("hypot", "``sqrt(x**2 + y**2)`` without overflow.")

lt = _binary("lt", "``x < y``.")
le = _binary("le", "``x <= y``.")
gt = _binary("gt", "``x > y``.")
ge = _binary("ge", "``x >= y``.")
eq = _binary("eq", "``x == y`` (elementwise).")
ne = _binary("ne", "``x != y`` (elementwise).")
logical_and = _binary("logical_and", "Elementwise ``and`` of booleans.")
logical_or = _binary("logical_or", "Elementwise ``or`` of booleans.")
logical_xor = _binary("logical_xor", "Elementwise ``xor`` of booleans.")
logical_not = _unary("logical_not", "Elementwise ``not``.")
bitwise_and = _binary("bitwise_and", "``x & y``: bitwise on integers, logical on booleans.")
bitwise_or = _binary("bitwise_or", "``x | y``: bitwise on integers, logical on booleans.")
bitwise_xor = _binary("bitwise_xor", "``x ^ y``: bitwise on integers, logical on booleans.")
invert = _unary("invert", "``~x``: bitwise not on integers, logical not on booleans.")

negative = _unary("neg", "``-x``.")
abs = _unary("abs", "``|x|``; its gradient at 0 is 0.")  # noqa: A001
sign = _unary("sign", "-1, 0 or 1 (NaN for NaN).")
square = _unary("square", "``x * x``.")
exp = _unary("exp", "``e**x``.")
expm1 = _unary("expm1", "``exp(x) - 1``, accurate near 0.")
log = _unary("log", "Natural logarithm.")
log1p = _unary("log1p", "``log(1 + x)``, accurate near 0.")
log2 = _unary("log2", "Base-2 logarithm.")
log10 = _unary("log10", "Base-10 logarithm.")
sqrt = _unary("sqrt", "Square root.")
sigmoid = _unary("sigmoid", "``1 / (1 + exp(-x))``, computed without overflow.")
softplus = _unary("softplus", "``log(1 + exp(x))``, computed without overflow.")
log1mexp = _unary("log1mexp", "``log(1 - exp(x))`` for ``x < 0`` (Mächler's two-branch form).")
sin = _unary("sin", "Sine.")
cos = _unary("cos", "Cosine.")
tan = _unary("tan", "Tangent.")
arcsin = _unary("arcsin", "Inverse sine.")
arccos = _unary("arccos", "Inverse cosine.")
arctan = _unary("arctan", "Inverse tangent.")
sinh = _unary("sinh", "Hyperbolic sine.")
cosh = _unary("cosh", "Hyperbolic cosine.")
tanh = _unary("tanh", "Hyperbolic tangent.")
erf = _unary("erf", "The error function.")
erfc = _unary("erfc", "``1 - erf(x)``, accurate for large x.")
floor = _unary("floor", "Round toward -inf.")
ceil = _unary("ceil", "Round toward +inf.")
isnan = _unary("isnan", "True where NaN.")
isinf = _unary("isinf", "True where +-inf.")


def round(x: Any, decimals: int = 0) -> Node:  # noqa: A001
    """Round half to even to ``decimals`` places, exactly as ``np.round`` does.

    Floats are scaled by ``10**|decimals|`` in their own dtype, rounded and
    scaled back; integers are unchanged for ``decimals >= 0`` and rounded to
    a multiple of ``10**-decimals`` (through float64, as NumPy) otherwise.
    """
    x = as_node(x)
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise _located(SymcTypeError(f"round: decimals must be an int, got {decimals!r}."))
    decimals = int(decimals)
    if decimals == 0:
        return elemwise("round", x)
    dt = x.type.dtype
    if dtypes.is_bool(dt):
        raise _located(
            SymcTypeError(f"round: cannot round {x.type.describe()} to {decimals} decimals.")
        )
    if dtypes.is_int(dt):
        if decimals > 0:
            return x
        return cast(round(cast(x, "float64"), decimals), dt)
    scale = 10.0 ** builtins.abs(decimals)
    if decimals > 0:
        return elemwise("round", x * scale) / scale
    return elemwise("round", x / scale) * scale


def where(condition: Any, x: Any, y: Any) -> Node:
    """``x`` where ``condition`` holds, else ``y`` (all three broadcast)."""
    c = as_node(condition)
    if c.type.dtype != "bool":
        c = ne(c, 0)
    return elemwise("where", c, x, y)


def clip(x: Any, a_min: Any = None, a_max: Any = None) -> Node:
    """``x`` limited to ``[a_min, a_max]`` (either bound may be None)."""
    x = as_node(x)
    if a_min is not None:
        x = maximum(x, a_min)
    if a_max is not None:
        x = minimum(x, a_max)
    return x


def cast(x: Any, dtype: Any) -> Node:
    """``x`` converted to ``dtype`` (``astype`` semantics); a no-op when already that dtype."""
    x = as_node(x)
    dt = dtypes.canonical(dtype)
    if dt == x.type.dtype:
        return x
    return apply(Cast(dt), (x,))


def _located(err: Exception) -> Exception:
    return with_location(err, user_location())
