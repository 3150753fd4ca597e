"""Lowerings of ops that make arrays from lengths: ``Alloc`` (a broadcast view),
``ARange`` (an elementwise statement over the loop index) and ``ShapeI``."""

from __future__ import annotations

from codegen import ir

from ..ops.alloc import Alloc, ARange, ShapeI
from . import dims as D
from .context import Ctx, Val, cast
from .registry import lowers
from .scalars import scalar_dim
from .views import broadcast_strides


@lowers(Alloc)
def lower_alloc(ctx: Ctx, node):
    value, *lengths = node.inputs
    v = ctx.val(value)
    dims = [scalar_dim(ctx, n) for n in lengths]
    shape = tuple(s if s is not None else d for s, d in zip(node.type.shape, dims, strict=True))
    for a, d in enumerate(dims):
        if not isinstance(d, int):
            ctx.require(D.lt(d, 0), 0, f"alloc: negative length on axis {a}.", "value")
    what = f"alloc: cannot broadcast a value of {value.type.describe()} to the requested lengths"
    strides = broadcast_strides(ctx, value.type.shape, v, shape, what)
    # a broadcast is a view: nothing reads it but later statements, and nothing writes it
    return Val(v.buffer, shape, strides, v.offset, False)


@lowers(ARange)
def lower_arange(ctx: Ctx, node):
    start, stop, step = node.inputs
    dt = node.type.dtype
    n = node.type.shape[0]
    if n is None:
        a, b, c = (scalar_dim(ctx, x) for x in (start, stop, step))
        ctx.require(D.add(D.lt(c, 0), D.lt(0, c)), 1, "arange: step must not be zero.", "value")
        # ceil((stop - start) / step) for either sign of step
        n = D.dmax(0, D.sub(0, D.floordiv(D.sub(a, b), c)))
    views = []
    exprs = []
    for x in (start, step):
        xv = ctx.val(x)
        exprs.append(ir.Load(len(views), x.type.dtype))
        views.append(ir.View(xv.buffer, (0,), xv.offset))
    work = "float64" if ir.DTYPES[dt][2] == "f" else "int64"
    s0, st = (cast(e, work) for e in exprs)
    value = ir.BinOp("add", s0, ir.BinOp("mul", cast(ir.Index(0), work), st))
    out = ctx.alloc((n,))
    ctx.emit(ir.Elementwise((n,), tuple(views), (ir.Store(out.view(), cast(value, dt)),)))
    return out


@lowers(ShapeI)
def lower_shape_i(ctx: Ctx, node):
    dim = scalar_dim(ctx, node)
    out = ctx.alloc(())
    ctx.emit(ir.Elementwise((), (), (ir.Store(out.view(), ir.Extent(dim)),)))
    return out
