"""Lowerings of reductions: ``Reduce``, ``ArgReduce`` and the max-shifted special ops.

A reduction is one :class:`codegen.ir.Reduce` statement over the input's
index space, storing through a view of the result with stride 0 on the
reduced axes. ``Softmax``/``LogSoftmax``/``LogSumExp`` are a max reduction,
sum reductions of a shifted expression, and a final elementwise statement.
"""

from __future__ import annotations

from codegen import ir

from ..ops.reduce import ArgReduce, Reduce
from ..ops.special import LogSoftmax, LogSumExp, Softmax
from . import dims as D
from .context import Ctx, Val, cast
from .registry import lowers


def _kept_view(val: Val, nd: int, axes: tuple, keepdims: bool) -> ir.View:
    """``val`` (the reduced result) seen from the ``nd``-axis index space of the input."""
    strides = []
    it = iter(val.strides)
    for a in range(nd):
        if a in axes:
            strides.append(0)
            if keepdims:
                next(it)
        else:
            strides.append(next(it))
    return ir.View(val.buffer, tuple(strides), val.offset)


def _reduced(shape: tuple, axes: tuple, keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if a in axes else d for a, d in enumerate(shape))
    return tuple(d for a, d in enumerate(shape) if a not in axes)


def emit_reduce(
    ctx, node, shape, views, value, kind, axes, keepdims, temp=False, dtype=None, empty_ok=False
):
    """Reduce ``value`` (over operands ``views`` in index space ``shape``); return the result."""
    axes = tuple(axes)
    dtype = dtype or node.type.dtype
    out = ctx.alloc(_reduced(shape, axes, keepdims), dtype, temp=temp)
    if kind in ("sum", "prod"):
        value = cast(value, dtype)
    dest = _kept_view(out, len(shape), axes, keepdims)
    ctx.emit(ir.Reduce(tuple(shape), axes, tuple(views), value, kind, dest, None, empty_ok))
    return out


@lowers(Reduce)
def lower_reduce(ctx: Ctx, node):
    (x,) = node.inputs
    v = ctx.val(x)
    op = node.op
    value = ir.Load(0, v.dtype)
    if op.kind in ("max", "min"):
        _nonempty(ctx, v, op.axes, op.kind)
    return emit_reduce(ctx, node, v.shape, [v.view()], value, op.kind, op.axes, op.keepdims)


@lowers(ArgReduce)
def lower_argreduce(ctx: Ctx, node):
    (x,) = node.inputs
    v = ctx.val(x)
    op = node.op
    axes = tuple(range(v.ndim)) if op.axis is None else (op.axis,)
    _nonempty(ctx, v, axes, op.kind)  # as the reference: the reduced axes
    value = ir.Load(0, v.dtype)
    out = ctx.alloc(_ashape(v, op))
    if op.axis is None:
        dest = ir.View(out.buffer, (0,) * v.ndim, out.offset)
    else:
        dest = _kept_view(out, v.ndim, axes, op.keepdims)
    ctx.emit(ir.Reduce(tuple(v.shape), axes, (v.view(),), value, op.kind, dest))
    return out


def _nonempty(ctx: Ctx, v: Val, axes: tuple, kind: str) -> None:
    """NumPy refuses to max/min/argmax over an empty axis even when the result is empty."""
    for a in axes:
        ctx.require(
            D.lt(0, v.shape[a]),
            1,
            f"{kind}: cannot reduce an empty axis {a} (no identity).",
        )


def _ashape(v: Val, op) -> tuple:
    if op.axis is None:
        return (1,) * v.ndim if op.keepdims else ()
    return _reduced(v.shape, (op.axis,), op.keepdims)


def _shifted(ctx: Ctx, node):
    """(x's Val, index space, the max as a view there, the shift expression builder)."""
    (x,) = node.inputs
    v = ctx.val(x)
    axes = node.op.axes
    # an empty slice's maximum is -inf (NumPy's initial=-inf), not an error
    top = emit_reduce(
        ctx,
        node,
        v.shape,
        [v.view()],
        ir.Load(0, v.dtype),
        "max",
        axes,
        True,
        temp=True,
        dtype=v.dtype,
        empty_ok=True,
    )
    top_view = _kept_view(top, v.ndim, axes, True)
    return v, axes, top_view


def _shift(m):
    return ir.Select(ir.Call("isfinite", (m,)), m, ir.Const(0.0, m.dtype))


@lowers(Softmax)
def lower_softmax(ctx: Ctx, node):
    v, axes, top = _shifted(ctx, node)
    x, m = ir.Load(0, v.dtype), ir.Load(1, v.dtype)
    # shifted by the plain maximum, as the reference: an infinite maximum gives NaN
    e = ir.Call("exp", (ir.BinOp("sub", x, m),))
    total = emit_reduce(
        ctx, node, v.shape, [v.view(), top], e, "sum", axes, True, temp=True, dtype=v.dtype
    )
    value = ir.BinOp("truediv", e, ir.Load(2, v.dtype))
    out = ctx.alloc(v.shape)
    views = (v.view(), top, _kept_view(total, v.ndim, axes, True))
    ctx.emit(ir.Elementwise(tuple(v.shape), views, (ir.Store(out.view(), value),)))
    return out


def _lse_sums(ctx: Ctx, node, v: Val, axes: tuple, top: ir.View) -> list:
    """Sums of exp(x - shift) apart from the maxima, the count of maxima, and the total.

    The maximum's own term is exactly 1, so ``log1p(rest + ties - 1)`` keeps the
    digits that ``log(total)`` loses when one entry dominates.
    """
    dt = v.dtype
    x, m = ir.Load(0, dt), ir.Load(1, dt)
    e = ir.Call("exp", (ir.BinOp("sub", x, _shift(m)),))
    is_top = ir.Compare("eq", x, m)
    out = []
    for value in (ir.Select(is_top, ir.Const(0.0, dt), e), cast(is_top, dt), e):
        r = emit_reduce(
            ctx, node, v.shape, [v.view(), top], value, "sum", axes, True, temp=True, dtype=dt
        )
        out.append(_kept_view(r, v.ndim, axes, True))
    return out


def _log_total(m, rest, ties, total):
    """log(sum(exp(x - shift))): stable where the maximum is finite."""
    one = ir.Const(1.0, m.dtype)
    stable = ir.Call("log1p", (ir.BinOp("add", rest, ir.BinOp("sub", ties, one)),))
    return ir.Select(ir.Call("isfinite", (m,)), stable, ir.Call("log", (total,)))


@lowers(LogSoftmax)
def lower_log_softmax(ctx: Ctx, node):
    v, axes, top = _shifted(ctx, node)
    dt = v.dtype
    sums = _lse_sums(ctx, node, v, axes, top)
    x, m = ir.Load(0, dt), ir.Load(1, dt)
    rest, ties, total = (ir.Load(k + 2, dt) for k in range(3))
    value = ir.BinOp("sub", ir.BinOp("sub", x, _shift(m)), _log_total(m, rest, ties, total))
    out = ctx.alloc(v.shape)
    ctx.emit(ir.Elementwise(tuple(v.shape), (v.view(), top, *sums), (ir.Store(out.view(), value),)))
    return out


@lowers(LogSumExp)
def lower_logsumexp(ctx: Ctx, node):
    v, axes, top = _shifted(ctx, node)
    dt = v.dtype
    sums = _lse_sums(ctx, node, v, axes, top)
    # evaluated in the input's index space, written once per reduced slice (stride 0)
    m = ir.Load(0, dt)
    rest, ties, total = (ir.Load(k + 1, dt) for k in range(3))
    value = ir.BinOp("add", _shift(m), _log_total(m, rest, ties, total))
    kshape = _reduced(v.shape, axes, True)
    out = ctx.alloc(_reduced(v.shape, axes, node.op.keepdims))
    dest = _kept_view(out, len(kshape), axes, node.op.keepdims)
    ctx.emit(ir.Elementwise(kshape, (top, *sums), (ir.Store(dest, value),)))
    return out
