"""The lowering driver: an optimized graph becomes ONE :class:`codegen.ir.Program`.

Inputs are, in order: the function's arguments, then shared variables and
constant arrays (extra inputs the caller passes at every call). Outputs are
the function's outputs followed by the new values of updated shared
variables. Every other node becomes statements writing temporaries, or no
statement at all when it is a view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from codegen import ir
from codegen.errors import IRError

from ..errors import SymcCompileError
from ..graph.traverse import toposort
from ..ops.leaves import Constant, Input, Shared
from .context import Ctx, Val, c_strides
from .registry import lowering_for
from .run_dims import sized_buffer
from .scalars import is_dim_node


@dataclass
class Lowered:
    """A program plus what the caller needs to run it and explain its failures."""

    program: ir.Program
    ctx: Ctx
    #: (input position, array) for constants passed after the arguments
    constants: list
    #: (input position, shared node) for shared variables
    shared: list


def _label(node, fallback: str) -> str:
    name = getattr(node, "name", None) or fallback
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name))[:24]


def _check_static(ctx: Ctx, buf, node, what: str) -> None:
    """Lengths declared in the graph are compiled in as constants: check them per call."""
    for a, s in enumerate(node.type.shape):
        if s is not None:
            ctx.require(
                ir.Shape(buf, a),
                s,
                f"function: {what} expects {node.type.describe()}: axis {a} must have length {s}.",
            )


def lower_node(ctx: Ctx, node) -> Val:
    """Lower one node (its inputs are lowered on demand) and remember its value."""
    op = node.op
    if isinstance(op, Constant):
        value = np.array(op.value, dtype=node.type.dtype, order="C")
        v = ctx.add_input(node, "const", value)
        _check_static(ctx, v.buffer, node, "a constant")
        val = Val(v.buffer, v.shape, c_strides(tuple(value.shape)), 0, True)
    elif isinstance(op, Shared):
        val = ctx.add_input(node, _label(node, "shared"))
        _check_static(ctx, val.buffer, node, f"shared variable {node.name or ''}")
    elif isinstance(op, Input):
        raise ctx.error("an input that is not an argument reached the lowering.", node)
    else:
        fn = lowering_for(op)
        if fn is None:
            raise ctx.error(
                f"the C backend has no lowering for op {type(op).__name__} "
                f"({op.label()}); register one in symc/lower or use backend='python'.",
                node,
            )
        saved, ctx.node = ctx.node, node
        try:
            val = fn(ctx, node)
        except IRError as err:
            raise ctx.error(f"lowering produced invalid kernel IR: {err}", node) from None
        finally:
            ctx.node = saved
    ctx.vals[id(node)] = val
    return val


def lower(inputs: list, outputs: list) -> Lowered:
    """Lower ``outputs`` as functions of ``inputs`` (symbolic argument nodes)."""
    ctx = Ctx(outputs=list(outputs))
    for i, node in enumerate(inputs):
        # declared lengths of arguments are checked by the caller (NativeFunction)
        ctx.vals[id(node)] = ctx.add_input(node, _label(node, f"arg{i}"))
    wanted = {id(o) for o in outputs}
    for node in toposort(outputs):
        if id(node) in ctx.vals:
            continue
        if node.is_leaf and not isinstance(node.op, Shared):
            continue  # constants become inputs when first used
        if id(node) not in wanted and is_dim_node(node):
            continue  # a length: computed as a Dim, materialized only if read as data
        lower_node(ctx, node)
    out_bufs = []
    for k, node in enumerate(outputs):
        v = ctx.val(node)
        buf = ctx.out_buffers.get(id(node))
        if buf is None or buf.name != f"out{k}" or v.buffer is not buf:
            buf = sized_buffer(ctx, f"out{k}", node.type.dtype, tuple(v.shape), "output")
            saved, ctx.node = ctx.node, node
            ctx.copy(v, Val(buf, v.shape, c_strides(v.shape)))
            ctx.node = saved
        out_bufs.append(buf)
    program = ir.Program(
        tuple(ctx.inputs),
        tuple(out_bufs),
        tuple(ctx.temps),
        tuple(ctx.body),
        tuple(ctx.checks),
        tuple((b, d) for b, d in ctx.loops.get("rows", {}).items() if b in out_bufs),
    )
    try:
        from codegen.validate import validate

        validate(program)
    except IRError as err:
        raise SymcCompileError(f"the C backend built an invalid kernel program: {err}") from None
    shared = [(k, n) for k, n in enumerate(ctx.input_nodes) if isinstance(n.op, Shared)]
    return Lowered(program, ctx, list(ctx.constants), shared)
