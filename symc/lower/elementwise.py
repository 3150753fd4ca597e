"""Lowerings of elementwise ops: ``Elemwise``, ``Cast`` and the fused ``Composite``.

Each becomes ONE :class:`codegen.ir.Elementwise` statement; inputs are
broadcast by strides (0 on a length statically known to be 1), and a length
unknown when building must equal the result's at run time (a run-time 1 does
not broadcast, as in the reference backend).
"""

from __future__ import annotations

import numpy as np

from codegen import ir

from ..ops.composite import Composite, CompositeReduce, literal_value
from ..ops.elemwise import Cast, Elemwise
from ..ops.leaves import Constant
from .context import Ctx, cast
from .gemm_update import fuse_gemm_update
from .registry import lowers
from .scalar import row_expr


def broadcast(ctx: Ctx, nodes: list, static: tuple, what: str) -> tuple[tuple, list]:
    """The index space of ``static`` (the result's static shape) and a View per node."""
    nd = len(static)
    vals = [ctx.val(x) for x in nodes]
    shape: list = []
    for a, s in enumerate(static):
        if s == 1:
            shape.append(1)
            continue
        # an input's extent rather than a known length: programs stay shape-generic
        dim = s
        for x, v in zip(nodes, vals, strict=True):
            lead = nd - x.type.ndim
            if a >= lead and x.type.shape[a - lead] != 1:
                dim = v.shape[a - lead]
                break
        if dim is None:  # cannot happen for well-typed graphs
            raise ctx.error(f"cannot tell the length of axis {a} of the result.")
        shape.append(dim)
    views = []
    for x, v in zip(nodes, vals, strict=True):
        lead = nd - x.type.ndim
        strides = [0] * lead
        for ia, s in enumerate(x.type.shape):
            if s == 1:
                strides.append(0)
                continue
            strides.append(v.strides[ia])
            # folded away when both are the same Dim; a known length was checked on entry
            described = ", ".join(y.type.describe() for y in nodes)
            ctx.require(
                v.shape[ia],
                shape[lead + ia],
                f"{what}: operands could not be broadcast together on axis {lead + ia} "
                f"(inputs: {described}); a length unknown when the graph was built must "
                f"match the others at run time and never broadcasts from 1.",
            )
        views.append(ir.View(v.buffer, tuple(strides), v.offset))
    return tuple(shape), views


class Operands:
    """Deduplicated statement operands; 0-d constants become literals."""

    def __init__(self, ctx: Ctx, nodes: list, shape: tuple, static: tuple, what: str):
        self.views: list = []
        self.exprs: list = []
        seen: dict = {}
        todo = []
        dups = []
        for x in nodes:
            if isinstance(x.op, Constant) and x.type.ndim == 0:
                self.exprs.append(ir.Const(np.asarray(x.op.value).item(), x.type.dtype))
            elif id(x) in seen:
                dups.append((len(self.exprs), seen[id(x)]))
                self.exprs.append(None)
            else:
                seen[id(x)] = len(self.exprs)
                self.exprs.append(None)
                todo.append((len(self.exprs) - 1, x))
        if todo:
            got_shape, views = broadcast(ctx, [x for _, x in todo], static, what)
            if shape is None:
                shape = got_shape
            for (k, x), view in zip(todo, views, strict=True):
                self.exprs[k] = ir.Load(len(self.views), x.type.dtype)
                self.views.append(view)
        for k, first in dups:
            self.exprs[k] = self.exprs[first]
        self.shape = shape if shape is not None else tuple(static)


def composite_expr(op: Composite, args: list):
    """The scalar DAG of a composite's steps over argument expressions ``args``."""
    got: list = []
    for fn, sargs, dtype in op.steps:
        ins = []
        for a in sargs:
            if a[0] == "in":
                ins.append(args[a[1]])
            elif a[0] == "step":
                ins.append(got[a[1]])
            else:
                ins.append(ir.Const(literal_value(a).item(), a[1]))
        got.append(cast(ins[0], dtype) if fn == "cast" else row_expr(fn, ins, dtype))
    return got[-1]


def _expr(node, exprs: list):
    op = node.op
    if isinstance(op, Cast):
        return cast(exprs[0], op.dtype)
    if isinstance(op, Composite):
        return cast(composite_expr(op, exprs), node.type.dtype)
    return cast(row_expr(op.fn, exprs, node.type.dtype), node.type.dtype)


@lowers(Elemwise, Cast, Composite)
def lower_elementwise(ctx: Ctx, node):
    static = node.type.shape
    ops = Operands(ctx, list(node.inputs), None, static, node.op.label())
    value = _expr(node, ops.exprs)
    out = ctx.alloc(ops.shape)
    if fuse_gemm_update(ctx, node, ops.shape, ops.views, value, out):
        return out
    ctx.emit(ir.Elementwise(ops.shape, tuple(ops.views), (ir.Store(out.view(), value),)))
    return out


@lowers(CompositeReduce)
def lower_composite_reduce(ctx: Ctx, node):
    from ..graph.types import broadcast_shapes
    from .reduce import emit_reduce

    op = node.op
    static = broadcast_shapes(*(x.type.shape for x in node.inputs), op="composite")
    ops = Operands(ctx, list(node.inputs), None, static, op.label())
    value = composite_expr(op.inner, ops.exprs)
    return emit_reduce(ctx, node, ops.shape, ops.views, value, op.kind, op.axes, op.keepdims)
