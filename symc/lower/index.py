"""Lowerings of indexing ops that write or gather: ``IncSubtensor``, ``Take`` and
``AdvancedIncSubtensor`` (gather/scatter-add through offset loads and stores)."""

from __future__ import annotations

from codegen import ir

from ..ops.index import AdvancedIncSubtensor, IncSubtensor, Take
from .context import Ctx, Val, cast
from .registry import lowers
from .views import broadcast_strides, index_view


def _copy_of(ctx: Ctx, x) -> Val:
    v = ctx.val(x)
    out = ctx.alloc(v.shape)
    ctx.copy(v, out)
    return out


@lowers(IncSubtensor)
def lower_inc_subtensor(ctx: Ctx, node):
    x, y, *syms = node.inputs
    out = _copy_of(ctx, x)
    part = index_view(ctx, out, node.op.items, syms, node.op.name, x.type.shape)
    yv = ctx.val(y)
    shape = part.shape
    what = (
        f"{node.op.name}: cannot add a value of {y.type.describe()} to the indexed part "
        f"(indexing {x.type.describe()})"
    )
    strides = broadcast_strides(ctx, y.type.shape, yv, shape, what)
    yview = ir.View(yv.buffer, strides, yv.offset)
    value = ir.BinOp("add", ir.Load(0, out.dtype), cast(ir.Load(1, y.type.dtype), out.dtype))
    ctx.emit(ir.Elementwise(shape, (part.view(), yview), (ir.Store(part.view(), value),)))
    return out


def _norm(k, n):
    """A gather index with Python's negative-index rule, as an int64 expression."""
    k = cast(k, "int64")
    zero = ir.Const(0, "int64")
    return ir.Select(ir.Compare("lt", k, zero), ir.BinOp("add", k, ir.Extent(n)), k)


def _bounds_guard(ctx: Ctx, node, idx, n, axis: int, x_static) -> None:
    iv = ctx.val(idx)
    k = cast(ir.Load(0, idx.type.dtype), "int64")
    bad = ir.Call(
        "logical_or",
        (
            ir.Compare("lt", k, ir.BinOp("sub", ir.Const(0, "int64"), ir.Extent(n))),
            ir.Compare("ge", k, ir.Extent(n)),
        ),
    )
    ctx.guard(
        iv.shape,
        (iv.view(),),
        bad,
        f"{node.op.name}: an index is out of bounds for "
        f"axis {axis} (indexing a value of shape {x_static}).",
        "index",
    )


def _gather_space(x_val: Val, idx_val: Val, axis: int):
    """The index space x.shape[:axis] + idx.shape + x.shape[axis+1:] and the views in it."""
    ni = idx_val.ndim
    shape = x_val.shape[:axis] + idx_val.shape + x_val.shape[axis + 1 :]
    xs = x_val.strides[:axis] + (0,) * ni + x_val.strides[axis + 1 :]
    lead, tail = (0,) * axis, (0,) * (x_val.ndim - axis - 1)
    iview = ir.View(idx_val.buffer, lead + tuple(idx_val.strides) + tail, idx_val.offset)
    return shape, xs, iview


@lowers(Take)
def lower_take(ctx: Ctx, node):
    x, idx = node.inputs
    axis = node.op.axis
    xv, iv = ctx.val(x), ctx.val(idx)
    n = xv.shape[axis]
    _bounds_guard(ctx, node, idx, n, axis, x.type.shape)
    shape, xs, iview = _gather_space(xv, iv, axis)
    off = ir.BinOp("mul", _norm(ir.Load(1, idx.type.dtype), n), ir.Extent(xv.strides[axis]))
    value = ir.Load(0, x.type.dtype, off)
    out = ctx.alloc(shape)
    views = (ir.View(xv.buffer, xs, xv.offset), iview)
    ctx.emit(ir.Elementwise(shape, views, (ir.Store(out.view(), value),)))
    return out


@lowers(AdvancedIncSubtensor)
def lower_advanced_inc(ctx: Ctx, node):
    x, y, idx = node.inputs
    axis = node.op.axis
    iv = ctx.val(idx)
    out = _copy_of(ctx, x)
    n = out.shape[axis]
    _bounds_guard(ctx, node, idx, n, axis, x.type.shape)
    shape, os_, iview = _gather_space(out, iv, axis)
    static = x.type.shape[:axis] + idx.type.shape + x.type.shape[axis + 1 :]
    yv = ctx.val(y)
    what = (
        f"{node.op.name}: cannot add a value of {y.type.describe()} at indices of "
        f"{idx.type.describe()} along axis {axis} of {x.type.describe()} (target {static})"
    )
    strides = broadcast_strides(ctx, y.type.shape, yv, shape, what)
    yview = ir.View(yv.buffer, strides, yv.offset)
    off = ir.BinOp("mul", _norm(ir.Load(0, idx.type.dtype), n), ir.Extent(out.strides[axis]))
    value = cast(ir.Load(1, y.type.dtype), out.dtype)
    dest = ir.View(out.buffer, os_, out.offset)
    store = ir.Store(dest, value, off, accumulate=True)
    ctx.emit(ir.Elementwise(shape, (iview, yview), (store,)))
    return out
