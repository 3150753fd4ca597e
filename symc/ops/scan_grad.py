"""The gradient of a ``Loop``: another loop, walking the steps backwards (BPTT).

Forward, step ``t`` maps ``(C, h_t, x_t)`` to ``(h_{t+1}, y_t)``. Given the
adjoints of one result (the final carry, the stacked outputs, or the carry
history), the backward loop keeps as its carry the adjoint ``a`` of the
state and running sums ``C̄`` of the constants' adjoints, and reads as
sequences the saved states ``h_t`` (the forward loop's ``history``), the
forward sequences, and the rows of the incoming adjoint::

    a = d final carry;  C̄ = 0
    for t = k-1 .. 0:                        # k = the steps the forward loop ran
        C̄_t, h̄_t, x̄_t = vjp(body at (C, h_t, x_t); cotangents a, ȳ_t)
        a = h̄_t + (adjoint of history row t);  C̄ += C̄_t;  out[t] = x̄_t

Its body is the forward body's pullback (``symc.autodiff.vjp``), so it is an
ordinary graph: gradients of gradients (and of nested loops) compose. Where
the pullback reads a per-step output of the forward body (``tanh``'s reads
its result), the backward loop reads that output's stacked rows (the forward
loop's ``("out", j)``) instead of recomputing the step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import dtypes

if TYPE_CHECKING:
    from ..graph.node import Node
    from .scan import Loop


def loop_pullback(op: Loop, inputs: tuple, out: Node, g: Node) -> list:
    """Gradients of one ``Loop`` result w.r.t. every outer input (``None`` for n_steps)."""
    from ..api.creation import tensor, zeros_like
    from ..autodiff import vjp
    from ..graph.node import apply
    from .scan import Body, Loop

    none = [None] * len(inputs)
    kind = op.result[0]
    if kind == "steps" or not dtypes.is_float(out.type.dtype):
        return none
    j = op.result[1]
    n, consts, inits, seqs = op.split(inputs)
    c_in, h_in, x_in = op.const_inputs, op.carry_inputs, op.seq_inputs
    dc = [k for k, c in enumerate(consts) if dtypes.is_float(c.type.dtype)]
    dh = [k for k, h in enumerate(inits) if dtypes.is_float(h.type.dtype)]
    dx = [k for k, x in enumerate(seqs) if dtypes.is_float(x.type.dtype)]

    def fresh(like: Node, label: str) -> Node:
        return tensor(label, like.type.shape, like.type.dtype)

    adj = [fresh(h_in[k], f"d{_name(h_in[k], 'h')}") for k in dh]
    acc = [fresh(c_in[k], f"d{_name(c_in[k], 'c')}") for k in dc]
    seeds = [(op.carry_outputs[k], a) for k, a in zip(dh, adj, strict=True)]
    extra_in: list[Node] = []  # rows of the incoming adjoint, a sequence of the backward loop
    if kind == "out":
        row = fresh(op.step_outputs[j], "dy[t]")
        seeds.append((op.step_outputs[j], row))
        extra_in.append(row)
    elif kind == "history":
        extra_in.append(fresh(h_in[j], f"d{_name(h_in[j], 'h')}[t]"))
    wrts = [c_in[k] for k in dc] + [h_in[k] for k in dh] + [x_in[k] for k in dx]
    grads = vjp(seeds, wrts)

    def adjoint(w: Node) -> Node:
        got = grads.get(id(w))
        return got if got is not None else zeros_like(w)

    new_adj = [adjoint(h_in[k]) for k in dh]
    if kind == "history" and j in dh:
        new_adj[dh.index(j)] = new_adj[dh.index(j)] + extra_in[0]
    new_acc = [a + adjoint(c_in[k]) for a, k in zip(acc, dc, strict=True)]
    x_bar = [adjoint(x_in[k]) for k in dx]

    # outer values: saved states come from the forward loop's history results
    steps = apply(op.sibling("steps"), inputs) if op.has_stop else n
    history = [apply(op.sibling("history", k), inputs) for k in range(op.n_carry)]
    adj0 = [g if kind == "carry" and k == j else zeros_like(inits[k]) for k in dh]
    acc0 = [zeros_like(consts[k]) for k in dc]
    extra_outer = [g] if extra_in else []

    seq_in = list(h_in) + list(x_in) + extra_in
    seq_outer = history + list(seqs) + extra_outer
    outputs = new_adj + new_acc + x_bar
    # values of the step the pullbacks read (tanh's reads its own result) are
    # rows the forward loop keeps anyway: read them instead of recomputing the step
    outputs, more_in, more_outer = _saved_rows(op, inputs, outputs, history, fresh)
    seq_in += more_in
    seq_outer += more_outer
    seq_in, seq_outer = _used(outputs, seq_in, seq_outer)
    const_in, const_outer = _used(outputs, list(c_in), list(consts))
    body = Body([*const_in, *adj, *acc, *seq_in], outputs)
    back = Loop(
        body,
        n_const=len(const_in),
        n_carry=len(adj) + len(acc),
        n_seq=len(seq_in),
        n_out=len(x_bar),
        has_stop=False,
        reverse=not op.reverse,
        length=None if op.has_stop else op.length,
    )
    outer = (steps, *const_outer, *adj0, *acc0, *seq_outer)

    result: list = list(none)
    for pos, k in enumerate(dh):
        result[1 + len(consts) + k] = apply(back.sibling("carry", pos), outer)
    for pos, k in enumerate(dc):
        result[1 + k] = apply(back.sibling("carry", len(adj) + pos), outer)
    for pos, k in enumerate(dx):
        rows = apply(back.sibling("out", pos), outer)
        result[1 + len(consts) + len(inits) + k] = _pad_rows(rows, seqs[k], steps)
    return result


def _saved_rows(op: Loop, inputs: tuple, outputs: list, history: list, fresh) -> tuple:
    """``outputs`` reading saved rows for the step values they use; the new (inner, outer) seqs.

    A per-step output ``j`` is the forward loop's ``("out", j)``; the new
    value of carry ``k`` is its next history row (the final carry after the
    last step), so the backward loop never recomputes a forward step.
    """
    from ..api.shape import concatenate, expand_dims
    from ..graph.node import apply
    from ..graph.traverse import replace, toposort

    reached = {id(n) for n in toposort(outputs)}
    rows: dict[int, tuple] = {}
    for j, y in enumerate(op.step_outputs):
        if id(y) in reached and y.inputs and id(y) not in rows:
            rows[id(y)] = (y, apply(op.sibling("out", j), inputs))
    for k, u in enumerate(op.carry_outputs):
        if id(u) in reached and u.inputs and id(u) not in rows:
            final = expand_dims(apply(op.sibling("carry", k), inputs), 0)
            h = history[k]
            after = [final, h[:-1]] if op.reverse else [h[1:], final]
            rows[id(u)] = (u, concatenate(after, axis=0))
    if not rows:
        return outputs, [], []
    inner = {id(y): fresh(y, f"{_name(y, 'y')}[t]") for y, _ in rows.values()}
    outputs = replace(outputs, {y: inner[id(y)] for y, _ in rows.values()})
    return outputs, [inner[i] for i in rows], [o for _, o in rows.values()]


def _name(node: Node, default: str) -> str:
    return node.name or default


def _used(outputs: list, inner: list, outer: list) -> tuple[list, list]:
    """Keep the (inner, outer) pairs whose inner input the outputs read."""
    from ..graph.traverse import toposort

    reached = {id(n) for n in toposort(outputs)}
    kept = [(i, o) for i, o in zip(inner, outer, strict=True) if id(i) in reached]
    return [i for i, _ in kept], [o for _, o in kept]


def _pad_rows(rows: Node, seq: Node, steps: Node) -> Node:
    """``rows`` (one per step run) followed by zero rows, to ``seq``'s length."""
    from ..api.creation import zeros_like
    from ..api.shape import length, static_value
    from .index import FULL, SYM, IncSubtensor

    k, total = rows.type.shape[0], seq.type.shape[0]
    if (k is not None and k == total) or steps is length(seq, 0):
        return rows  # the loop read every row
    known = static_value(steps)
    rest = (FULL,) * (seq.type.ndim - 1)
    if known is not None:
        return IncSubtensor((("slice", None, int(known), None), *rest))(zeros_like(seq), rows)
    return IncSubtensor((("slice", None, SYM, None), *rest))(zeros_like(seq), rows, steps)
