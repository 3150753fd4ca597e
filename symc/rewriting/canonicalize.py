"""Canonicalization: constant folding, algebraic identities and shape simplifications.

Every rule here gives bit-identical results on every input, NaN, infinities
and signed zeros included, under NumPy's semantics (the reference backend's).
A rule that would change some IEEE result (``x + 0`` turns ``-0`` into ``+0``,
``x * 0`` is NaN at infinity) is tagged ``fast_math`` and runs only when a
caller opts in with ``include=["fast_math"]``. Reassociation (flattening
``(x + 1) + 2`` into ``x + 3``) is exact for integers, and fast-math for floats.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..api import math as m
from ..api.convert import constant
from ..api.creation import ones_like, zeros_like
from ..errors import SymcError
from ..graph.node import Node, apply
from ..ops.alloc import ShapeI
from ..ops.elemwise import Cast
from ..ops.leaves import Constant
from ..ops.reduce import Reduce
from ..ops.shape import DimShuffle, Reshape, dimshuffle
from .pattern import P
from .registry import local, rule

FAST = ("fast_math",)
#: largest constant that folding may create from smaller inputs
FOLD_LIMIT = 1 << 12


def is_float(n: Node) -> bool:
    return dtypes.is_float(n.type.dtype)


def is_int(n: Node) -> bool:
    return dtypes.is_int(n.type.dtype)


def _const_value(n: Node):
    return n.op.value if isinstance(n.op, Constant) else None


# --- constant folding ---------------------------------------------------------


@local(
    "constant_folding",
    None,
    tags=("folding",),
    pattern="op(c1, c2, ...)",
    replacement="const",
    why="computed once now instead of on every call; uses the op's own impl, so exact",
)
def constant_folding(node: Node) -> Node | None:
    if not all(isinstance(i.op, Constant) for i in node.inputs):
        return None
    size = 1
    for d in node.type.shape:
        if d is None:
            return None
        size *= d
    biggest = max((i.op.value.size for i in node.inputs), default=0)
    if size > FOLD_LIMIT and size > biggest:
        return None  # don't materialize broadcasts (alloc of a scalar)
    vals = [i.op.value for i in node.inputs]
    try:
        check = getattr(node.op, "check_values", None)
        if check is not None:
            check(node.inputs, vals)
        with np.errstate(all="ignore"):
            out = np.asarray(node.op.impl(*vals))
    except (SymcError, ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError):
        return None  # the error belongs to run time, where it names the user's line
    if out.dtype.name != node.type.dtype:
        out = out.astype(node.type.dtype)
    if out.shape != node.type.shape:
        return None
    return constant(out)


# --- algebra (exact) ------------------------------------------------------------

x, y = P.x, P.y

ALGEBRA = [
    rule("neg_neg", P.neg(P.neg(x)), lambda x: x, replacement="x", why="negation is exact"),
    rule("mul_one", x * 1, lambda x: x, replacement="x", why="x*1 == x, NaN included"),
    rule("div_one", x / 1, lambda x: x, replacement="x", why="x/1 == x"),
    rule(
        "sub_zero",
        x - 0,
        lambda x: x,
        replacement="x",
        why="x - (+0) == x for every x, -0 included (the constant must be +0)",
    ),
    rule(
        "add_neg_zero",
        x + P.const(-0.0) | (x + 0).where(is_int),
        lambda x: x,
        replacement="x",
        why="x + (-0) == x for every float x; integers have one zero",
    ),
    rule(
        "add_zero",
        x + 0,
        lambda x: x,
        tags=FAST,
        replacement="x",
        why="fast_math: -0 + 0 is +0",
    ),
    rule(
        "mul_zero",
        (x * 0).where(is_float),
        lambda x, node: zeros_like(x) if x.type == node.type else None,
        tags=FAST,
        replacement="zeros_like(x)",
        why="fast_math: inf*0 and NaN*0 are NaN, -x*0 is -0",
    ),
    rule(
        "sub_self",
        (x - x).where(is_float),
        lambda x: zeros_like(x),
        tags=FAST,
        replacement="zeros_like(x)",
        why="fast_math: inf - inf is NaN",
    ),
    rule("pow_one", x**1, lambda x: x, replacement="x", why="pow(x, 1) == x"),
    rule(
        "pow_two",
        x**2,
        lambda x: x * x,
        replacement="x*x",
        why="NumPy's power(x, 2) is square(x): the same correctly rounded product",
    ),
    rule(
        "pow_half",
        P.pow(x.float(), 0.5),
        lambda x: m.sqrt(x),
        replacement="sqrt(x)",
        why="NumPy's power(x, 0.5) is sqrt(x) (also at -0 and -inf)",
    ),
    rule(
        "pow_minus_one",
        P.pow(x.float(), -1),
        lambda x: 1 / x,
        replacement="1/x",
        why="NumPy's power(x, -1) is reciprocal(x)",
    ),
    rule(
        "pow_zero",
        x**0,
        lambda x, node: ones_like(x) if x.type == node.type else None,
        replacement="ones_like(x)",
        why="pow(x, 0) == 1 for every x, NaN included (IEEE 754)",
    ),
    rule("sub_neg", x - (-y), lambda x, y: x + y, replacement="x + y", why="exact"),
    rule("add_neg", x + (-y), lambda x, y: x - y, replacement="x - y", why="exact"),
    rule("neg_mul_neg", (-x) * (-y), lambda x, y: x * y, replacement="x*y", why="exact"),
    rule("neg_div_neg", (-x) / (-y), lambda x, y: x / y, replacement="x/y", why="exact"),
    rule("abs_neg", P.abs(-x), lambda x: m.abs(x), replacement="abs(x)", why="exact"),
    rule("abs_abs", P.abs(P.abs(x)), lambda x: m.abs(x), replacement="abs(x)", why="exact"),
    rule(
        "exp_mul_exp",
        P.exp(x) * P.exp(y),
        lambda x, y: m.exp(x + y),
        tags=FAST,
        replacement="exp(x + y)",
        why="fast_math: exp(1000)*exp(-1000) is NaN, exp(0) is 1",
    ),
    rule(
        "where_same",
        P.where(P.c, x, x),
        lambda x: x,
        replacement="x",
        why="both branches are the same value",
    ),
]


def _pow2_reciprocal(c: Node) -> Node | None:
    v = _const_value(c)
    if v is None or v.dtype.kind != "f" or v.size == 0:
        return None
    first = v.reshape(-1)[0]
    if not np.all(v == first) or not np.isfinite(first) or first == 0:
        return None
    mant, _ = np.frexp(first)
    inv = np.asarray(1, v.dtype) / first
    if abs(mant) != 0.5 or not np.isfinite(inv) or inv * first != 1 or np.frexp(inv)[0] != mant:
        return None  # not a power of two, or 1/c is subnormal (inexact)
    return constant(np.full(v.shape, inv, dtype=v.dtype))


ALGEBRA.append(
    rule(
        "div_pow2_to_mul",
        (x / P.c).where(is_float),
        lambda x, c: None if (r := _pow2_reciprocal(c)) is None else x * r,
        replacement="x * (1/c)",
        why="for c a power of two, 1/c is exact and x/c == x*(1/c) (one rounding of one value)",
    )
)


def _const_first(node: Node) -> Node | None:
    a, b = node.inputs
    if isinstance(a.op, Constant) and not isinstance(b.op, Constant):
        return apply(node.op, (b, a))
    return None


ALGEBRA.append(
    local(
        "constant_to_right",
        ["add", "mul"],
        pattern="c + x, c * x",
        replacement="x + c, x * c",
        why="IEEE + and * are commutative; one spelling merges more subexpressions",
    )(_const_first)
)


def _gather(kind: str, fast: bool):
    """(x op c1) op c2 -> x op (c1 op c2)."""

    def fn(node: Node) -> Node | None:
        if fast != is_float(node):
            return None
        a, c2 = node.inputs
        if _const_value(c2) is None or not a.inputs or a.op != node.op:
            return None
        inner_x, c1 = a.inputs
        if _const_value(c1) is None or c1.type.dtype != c2.type.dtype:
            return None
        merged = apply(node.op, (c1, c2))
        return apply(node.op, (inner_x, merged))

    return fn


for _k, _sym in (("add", "+"), ("mul", "*")):
    ALGEBRA.append(
        local(
            f"gather_{_k}_constants",
            [_k],
            pattern=f"(x {_sym} c1) {_sym} c2",
            replacement=f"x {_sym} (c1 {_sym} c2)",
            why="integer arithmetic is associative (wrapping included)",
        )(_gather(_k, False))
    )
    ALGEBRA.append(
        local(
            f"gather_{_k}_constants_float",
            [_k],
            tags=FAST,
            pattern=f"(x {_sym} c1) {_sym} c2",
            replacement=f"x {_sym} (c1 {_sym} c2)",
            why="fast_math: float reassociation rounds differently",
        )(_gather(_k, True))
    )


# --- casts ---------------------------------------------------------------------------


@local(
    "cast_of_exact_cast",
    ["Cast"],
    pattern="cast{t}(cast{w}(x)) with x -> w exact",
    replacement="cast{t}(x)",
    why="the inner cast keeps the value, so the outer one sees the same number",
)
def cast_of_exact_cast(node: Node) -> Node | None:
    (inner,) = node.inputs
    if not isinstance(inner.op, Cast):
        return None
    (src,) = inner.inputs
    if not np.can_cast(src.type.dtype, inner.type.dtype, casting="safe"):
        return None
    if src.type.dtype == node.type.dtype:
        return src
    return apply(node.op, (src,))


# --- shapes ----------------------------------------------------------------------------


@local(
    "dimshuffle_of_dimshuffle",
    ["DimShuffle"],
    pattern="dimshuffle(dimshuffle(x))",
    replacement="dimshuffle(x)",
    why="transpose of transpose, expand of squeeze...: one view",
)
def dimshuffle_of_dimshuffle(node: Node) -> Node | None:
    (inner,) = node.inputs
    if not isinstance(inner.op, DimShuffle):
        return None
    (src,) = inner.inputs
    pattern = tuple("x" if p == "x" else inner.op.pattern[p] for p in node.op.pattern)
    return dimshuffle(src, pattern)


@local(
    "reshape_of_reshape",
    ["Reshape"],
    pattern="reshape(reshape(x, s1), s2)",
    replacement="reshape(x, s2)",
    why="C-order reshapes compose",
)
def reshape_of_reshape(node: Node) -> Node | None:
    inner = node.inputs[0]
    if not isinstance(inner.op, Reshape):
        return None
    return apply(node.op, (inner.inputs[0], *node.inputs[1:]))


@local(
    "reshape_noop",
    ["Reshape"],
    pattern="reshape(x, x.shape)",
    replacement="x",
    why="same static shape: nothing to do",
)
def reshape_noop(node: Node) -> Node | None:
    src = node.inputs[0]
    if None in src.type.shape or src.type.shape != node.type.shape:
        return None
    return src


@local(
    "reduce_length_one_axes",
    ["Reduce"],
    pattern="reduce(x, axes) with every reduced axis of length 1",
    replacement="squeeze(x) (sum: squeeze(x) + 0)",
    why="one element per output; sum starts from +0, so -0 becomes +0 as in NumPy",
)
def reduce_length_one_axes(node: Node) -> Node | None:
    (src,) = node.inputs
    op: Reduce = node.op
    if any(src.type.shape[a] != 1 for a in op.axes) or src.type.dtype != node.type.dtype:
        return None
    if op.keepdims:
        out = src
    else:
        out = dimshuffle(src, [a for a in range(src.type.ndim) if a not in op.axes])
    if op.kind == "sum" and is_float(src):
        out = out + constant(0.0, dtype=src.type.dtype)
    return out


@local(
    "shape_of_static_axis",
    ["ShapeI"],
    pattern="shape_i(x) with the length static",
    replacement="const",
    why="known when the graph is built",
)
def shape_of_static_axis(node: Node) -> Node | None:
    op: ShapeI = node.op
    d = node.inputs[0].type.shape[op.axis]
    return None if d is None else constant(np.int64(d))


@local(
    "shape_of_elementwise",
    ["ShapeI"],
    pattern="shape_i(f(a, b, ...)) with f elementwise",
    replacement="shape_j(a) for an operand whose aligned length is unknown",
    why="an unknown length never broadcasts, so the operand's length is the result's; "
    "the shape no longer waits for (or keeps alive) the elementwise result",
)
def shape_of_elementwise(node: Node) -> Node | None:
    (src,) = node.inputs
    if not src.inputs or not src.op.elementwise:
        return None
    axis = node.op.axis
    for i in src.inputs:
        k = axis - (src.type.ndim - i.type.ndim)
        if k >= 0 and i.type.shape[k] is None:
            return apply(ShapeI(k), (i,))
    return None


@local(
    "where_constant_condition",
    ["where"],
    pattern="where(True, a, b), where(False, a, b)",
    replacement="a, b",
    why="the condition is known",
)
def where_constant_condition(node: Node) -> Node | None:
    c, a, b = node.inputs
    v = _const_value(c)
    if v is None or v.size == 0:
        return None
    if np.all(v):
        return a
    if not np.any(v):
        return b
    return None


RULES = [
    constant_folding,
    *ALGEBRA,
    cast_of_exact_cast,
    dimshuffle_of_dimshuffle,
    reshape_of_reshape,
    reshape_noop,
    reduce_length_one_axes,
    shape_of_static_axis,
    shape_of_elementwise,
    where_constant_condition,
]
