"""Lowering of ``MatMul`` (which ``dot``, ``tensordot`` and ``outer`` build on) to ``Gemm``.

1-D operands become a row (left) or a column (right) by adding a length-1
axis with stride 0; one batch axis maps onto Gemm's batch stride (0 where it
broadcasts); several batch axes are first copied into a contiguous,
broadcast operand so they flatten into one.
"""

from __future__ import annotations

from codegen import ir

from ..ops.linalg import MatMul
from . import dims as D
from .context import Ctx, Val, c_strides
from .registry import lowers


def _operand(ctx: Ctx, x, dtype: str, left: bool) -> Val:
    v = ctx.val(x)
    if v.dtype != dtype:
        out = ctx.alloc(v.shape, dtype, temp=True)
        ctx.copy(v, out)
        v = out
    if v.ndim == 1:
        if left:
            return Val(v.buffer, (1, v.shape[0]), (0, v.strides[0]), v.offset)
        return Val(v.buffer, (v.shape[0], 1), (v.strides[0], 0), v.offset)
    return v


def _batch_view(ctx: Ctx, v: Val, static: tuple, batch: tuple, bstatic: tuple) -> tuple:
    """(batch stride, matrix strides) of ``v`` over the flattened ``batch`` axes."""
    nb = len(batch)
    own = v.ndim - 2
    if nb == 0:
        return 0, v.strides[-2:], v
    lead = nb - own
    if nb == 1:
        if own == 0 or static[0] == 1:
            return 0, v.strides[-2:], v
        return v.strides[0], v.strides[-2:], v
    # several batch axes: materialize the broadcast operand contiguously
    shape = tuple(batch) + tuple(v.shape[-2:])
    strides = [0] * lead
    for a in range(own):
        strides.append(0 if static[a] == 1 else v.strides[a])
    src = Val(v.buffer, shape, tuple(strides) + tuple(v.strides[-2:]), v.offset)
    out = ctx.alloc(shape, v.dtype, temp=True)
    ctx.copy(src, out)
    st = c_strides(shape)
    return st[nb - 1], st[-2:], out


@lowers(MatMul)
def lower_matmul(ctx: Ctx, node):
    a, b = node.inputs
    is_bool = node.type.dtype == "bool"
    # NumPy's boolean product is "any(a and b)": a count in int64, compared with 0
    dt = "int64" if is_bool else node.type.dtype
    av, bv = _operand(ctx, a, dt, True), _operand(ctx, b, dt, False)
    sa = (1,) + a.type.shape if a.type.ndim == 1 else a.type.shape
    sb = b.type.shape + (1,) if b.type.ndim == 1 else b.type.shape
    m, k = av.shape[-2], av.shape[-1]
    n = bv.shape[-1]
    ctx.require(
        bv.shape[-2],
        k,
        f"matmul: cannot multiply {a.type.describe()} by "
        f"{b.type.describe()}: the inner lengths differ.",
    )
    nba, nbb = av.ndim - 2, bv.ndim - 2
    nb = max(nba, nbb)
    batch, bstatic = [], []
    for i in range(nb):
        da = av.shape[i - (nb - nba)] if i >= nb - nba else 1
        db = bv.shape[i - (nb - nbb)] if i >= nb - nbb else 1
        xa = sa[i - (nb - nba)] if i >= nb - nba else 1
        xb = sb[i - (nb - nbb)] if i >= nb - nbb else 1
        if xa == 1:
            d = db
        elif xb == 1:
            d = da
        else:
            d = da
            ctx.require(
                da,
                db,
                f"matmul: cannot multiply {a.type.describe()} by "
                f"{b.type.describe()}: the batch axes do not broadcast.",
            )
        batch.append(d)
        bstatic.append(None)
    a_bs, a_ms, av = _batch_view(ctx, av, sa, tuple(batch), tuple(bstatic))
    b_bs, b_ms, bv = _batch_view(ctx, bv, sb, tuple(batch), tuple(bstatic))
    out_shape = tuple(batch)
    if a.type.ndim > 1:
        out_shape += (m,)
    if b.type.ndim > 1:
        out_shape += (n,)
    out = ctx.alloc(out_shape, dt, temp=is_bool)
    cst = c_strides(tuple(batch) + (m, n))
    c_bs = cst[nb - 1] if nb else 0
    nbatch = D.prod(batch)
    ctx.emit(
        ir.Gemm(
            ir.View(av.buffer, (a_bs, *a_ms), av.offset),
            ir.View(bv.buffer, (b_bs, *b_ms), bv.offset),
            ir.View(out.buffer, (c_bs, cst[-2], cst[-1]), out.offset),
            m,
            n,
            k,
            nbatch,
        )
    )
    if not is_bool:
        return out
    res = ctx.alloc(out_shape)
    value = ir.Compare("ne", ir.Load(0, dt), ir.Const(0, dt))
    ctx.emit(ir.Elementwise(out_shape, (out.view(),), (ir.Store(res.view(), value),)))
    return res
