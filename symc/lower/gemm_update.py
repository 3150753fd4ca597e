"""``w - c * (a @ b)`` as one ``Gemm`` with ``beta = 1``, writing straight into the result.

An SGD update (``p - lr * grad``) of a weight whose gradient is a matrix
product would otherwise write the product to a temporary (which BLAS first
clears, since ``beta = 0``), then read it back with ``p`` to write the
result. Copying ``w`` into the result and letting BLAS accumulate
``alpha * a @ b`` into it saves the clearing pass and one read of the
product. The product is computed with one rounding less (``alpha * acc + c``
in the BLAS kernel), which is within any float tolerance of the reference.
"""

from __future__ import annotations

import dataclasses

from codegen import ir

from ..ops.linalg import MatMul
from . import dims as D
from .context import Ctx, Val


def _split(value):
    """``(w operand, product operand, alpha)`` when ``value`` is ``w ± c * g``; else None."""
    if not isinstance(value, ir.Call) or value.fn not in ("add", "sub"):
        return None
    sign = -1.0 if value.fn == "sub" else 1.0
    pairs = [(value.args[0], value.args[1], sign)]
    if value.fn == "add":
        pairs.append((value.args[1], value.args[0], 1.0))
    for w, rest, s in pairs:
        if not isinstance(w, ir.Load) or w.offset is not None:
            continue
        if isinstance(rest, ir.Load) and rest.offset is None:
            return w.operand, rest.operand, s
        if isinstance(rest, ir.Call) and rest.fn == "mul":
            x, y = rest.args
            if isinstance(x, ir.Const):
                x, y = y, x
            ok = isinstance(x, ir.Load) and x.offset is None and isinstance(y, ir.Const)
            if ok and isinstance(y.value, (int, float)) and y.dtype == x.dtype:
                return w.operand, x.operand, s * float(y.value)
    return None


def _mentions(obj, buf) -> bool:
    """Does a statement (or any part of it) refer to ``buf``?"""
    if obj is buf:
        return True
    if isinstance(obj, (tuple, list)):
        return any(_mentions(x, buf) for x in obj)
    if isinstance(obj, ir.View):
        return obj.buffer is buf
    if isinstance(obj, ir._Node) and dataclasses.is_dataclass(obj):
        return any(_mentions(getattr(obj, f.name), buf) for f in dataclasses.fields(obj))
    return False


def _single_use(ctx: Ctx, node, user) -> bool:
    """``node`` is read by ``user`` alone (once) in the whole graph being lowered."""
    return ctx.uses(node) == 1 and sum(x is node for x in user.inputs) == 1


def fuse_gemm_update(ctx: Ctx, node, shape: tuple, views: list, value, out: Val) -> bool:
    """Emit ``out = w + alpha * (a @ b)`` as a copy and a ``beta = 1`` Gemm, if it is one.

    ``views``/``value`` are the elementwise statement that would compute it;
    returns False (having emitted nothing) when the pattern does not apply.
    """
    if len(shape) != 2 or out.dtype not in ("float32", "float64") or not out.contiguous:
        return False
    got = _split(value)
    if got is None:
        return False
    wk, gk, alpha = got
    gview = views[gk]
    tmp = gview.buffer
    if tmp.role != "temp" or tmp.dtype != out.dtype or views[wk].buffer.dtype != out.dtype:
        return False
    mm = next((x for x in node.inputs if isinstance(x.op, MatMul)), None)
    if mm is None or ctx.vals.get(id(mm)) is None or ctx.vals[id(mm)].buffer is not tmp:
        return False
    if not _single_use(ctx, mm, node):
        return False
    found = [i for i, st in enumerate(ctx.body) if _mentions(st, tmp)]
    if len(found) != 1:
        return False
    g = ctx.body[found[0]]
    if not isinstance(g, ir.Gemm) or g.c.buffer is not tmp or g.alpha != 1.0 or g.beta != 0.0:
        return False
    tval = ctx.vals[id(mm)]
    # the product is read with its own strides (not broadcast), so the statement's
    # extents were required equal to the product's (m, n) before anything runs
    if not (D.same(g.batch, 1) and tval.ndim == 2):
        return False
    if tuple(gview.strides) != tuple(tval.strides):
        return False
    if not D.same(gview.offset, 0) or not D.same(g.c.offset, 0):
        return False
    # the product's statement moves here: its operands are never written again
    del ctx.body[found[0]]
    del ctx.stmt_nodes[found[0]]
    w = views[wk]
    ctx.emit(ir.Elementwise(shape, (w,), (ir.Store(out.view(), ir.Load(0, out.dtype)),)))
    cview = ir.View(out.buffer, (0, *out.strides), out.offset)
    ctx.emit(dataclasses.replace(g, c=cview, alpha=alpha, beta=1.0))
    return True
