"""One loop taken apart for editing: ``LoopParts``, and the edits the scan rules make.

A ``Loop`` node fixes its body's inputs and outputs in one order; the scan
rules drop carries, add constants and add carries, so they work on the parts
as lists of pairs (inner input, outer value) and rebuild a ``Loop`` at the end:

* :func:`hoist` moves body subgraphs that read only loop constants out of
  the loop (each becomes a new constant, computed once);
* :func:`prune` drops the carries, per-step outputs and constants no used
  result needs;
* :func:`keep_last` makes the last ``k`` rows of a per-step output available
  as final carries (a shift register, the oldest first), so the stacked
  output need not be stored.

Every carry and output remembers its index in the original loop (``origin``)
so the results the graph used can be found again after the edits.
"""

from __future__ import annotations

from ..graph.node import Node
from ..graph.record import record
from ..graph.traverse import invariant_frontier, replace, toposort
from ..ops.leaves import Constant
from ..ops.scan import Body, Loop


@record(frozen=False, eq=False)
class Carry:
    """One recurrent state: the body input holding it, the body output updating it, its start."""

    inner: Node
    update: Node
    init: Node
    origin: int | None = None


@record(frozen=False, eq=False)
class Output:
    """One per-step output (stacked over the steps)."""

    node: Node
    origin: int | None = None


class LoopParts:
    """The parts of one ``Loop`` as editable lists (see the module docstring)."""

    def __init__(self, op: Loop, outer: tuple):
        n, consts, inits, seqs = op.split(outer)
        body = op.body
        self.op = op
        self.n = n
        self.consts: list[tuple[Node, Node]] = list(zip(op.const_inputs, consts, strict=True))
        self.carries = [
            Carry(i, u, init, k)
            for k, (i, u, init) in enumerate(
                zip(op.carry_inputs, op.carry_outputs, inits, strict=True)
            )
        ]
        self.seqs: list[tuple[Node, Node]] = list(zip(op.seq_inputs, seqs, strict=True))
        self.outs = [Output(o, k) for k, o in enumerate(op.step_outputs)]
        self.stop: Node | None = body.outputs[-1] if op.has_stop else None

    # --- the body's outputs as one list, in the Loop's order
    def outputs(self) -> list[Node]:
        stop = [self.stop] if self.stop is not None else []
        return [c.update for c in self.carries] + [o.node for o in self.outs] + stop

    def set_outputs(self, new: list[Node]) -> None:
        """Replace the body's outputs (same count and order as :meth:`outputs`)."""
        h, m = len(self.carries), len(self.outs)
        for c, u in zip(self.carries, new[:h], strict=True):
            c.update = u
        for o, y in zip(self.outs, new[h : h + m], strict=True):
            o.node = y
        if self.stop is not None:
            self.stop = new[-1]

    def variant(self) -> set[int]:
        """Ids of the body inputs that change from step to step (carries and sequence rows)."""
        return {id(c.inner) for c in self.carries} | {id(i) for i, _ in self.seqs}

    def build(self) -> tuple[Loop, tuple]:
        """The edited loop (its ``result`` still to be chosen) and its outer inputs."""
        body = Body(
            [*(i for i, _ in self.consts), *(c.inner for c in self.carries), *self.inners_seq()],
            self.outputs(),
        )
        op = Loop(
            body,
            n_const=len(self.consts),
            n_carry=len(self.carries),
            n_seq=len(self.seqs),
            n_out=len(self.outs),
            has_stop=self.op.has_stop,
            reverse=self.op.reverse,
            length=self.op.length,
        )
        outer = (
            self.n,
            *(o for _, o in self.consts),
            *(c.init for c in self.carries),
            *(o for _, o in self.seqs),
        )
        return op, outer

    def inners_seq(self) -> list[Node]:
        return [i for i, _ in self.seqs]


def _reached(roots: list[Node]) -> set[int]:
    return {id(n) for n in toposort(roots)}


def prune(parts: LoopParts, carries: set[Carry], outs: set[Output]) -> int:
    """Keep the given carries and outputs, plus the carries they read; returns how many went.

    Constants the kept outputs no longer read go too. A sequence the body no
    longer reads goes only when dropping it cannot hide an error (its length
    is known to cover the steps), since the loop checks every sequence's length.
    """
    needed = set(carries)
    kept_outs = [o for o in parts.outs if o in outs]
    stop = [parts.stop] if parts.stop is not None else []
    while True:
        reached = _reached([o.node for o in kept_outs] + stop + [c.update for c in needed])
        more = {c for c in parts.carries if id(c.inner) in reached} - needed
        if not more:
            break
        needed |= more
    before = len(parts.carries) + len(parts.outs) + len(parts.consts) + len(parts.seqs)
    parts.carries = [c for c in parts.carries if c in needed]
    parts.outs = kept_outs
    parts.consts = [(i, o) for i, o in parts.consts if id(i) in reached]
    parts.seqs = [
        (i, o) for i, o in parts.seqs if id(i) in reached or not _covers(o, parts.op.length)
    ]
    return before - (len(parts.carries) + len(parts.outs) + len(parts.consts) + len(parts.seqs))


def _covers(seq: Node, length: int | None) -> bool:
    rows = seq.type.shape[0]
    return length is not None and rows is not None and rows >= length


def hoist(parts: LoopParts) -> int:
    """Move loop-invariant body subgraphs out of the loop; returns how many subgraphs moved.

    A body node is invariant when no carry or sequence row reaches it. The
    invariant nodes a step needs (inputs of variant nodes, or body outputs)
    are computed once, outside, on the loop's outer constants, and enter the
    body as new constants. Constant leaves stay in the body (a backend folds
    them into the code).
    """
    from ..api.creation import tensor

    outputs = parts.outputs()
    # leaves stay: constants and the loop's own inputs are in the body already
    moved = [n for n in invariant_frontier(outputs, parts.variant()) if n.inputs]
    if not moved:
        return 0
    outer_of = {i: o for i, o in parts.consts}
    outer_values = replace(moved, outer_of) if outer_of else list(moved)
    inner = [tensor(f"hoisted{k}", n.type.shape, n.type.dtype) for k, n in enumerate(moved)]
    parts.set_outputs(replace(outputs, dict(zip(moved, inner, strict=True))))
    parts.consts += list(zip(inner, outer_values, strict=True))
    return len(moved)


def keep_last(parts: LoopParts, out: Output, k: int) -> list[Carry] | None:
    """Carries whose final values are the last ``k`` rows of ``out``, the oldest first.

    An output fed back already is its carry's update (and a ``taps``
    register holds older rows); the missing depths become new carries that
    start at zeros. None when a new carry is needed but its row shape cannot
    be computed outside the loop.
    """
    chain: list[Carry] = []
    target = out.node
    for _ in range(k):
        c = next((c for c in parts.carries if c.update is target), None)
        if c is None:
            break
        chain.append(c)
        target = c.inner
    if len(chain) < k:
        init = _zero_row(parts, out.node)
        if init is None:
            return None
        from ..api.creation import tensor

        for d in range(len(chain), k):
            update = out.node if d == 0 else chain[-1].inner
            t = out.node.type
            c = Carry(tensor(f"out[t-{d}]", t.shape, t.dtype), update, init)
            parts.carries.append(c)
            chain.append(c)
    return chain[::-1]


def _zero_row(parts: LoopParts, y: Node) -> Node | None:
    """Zeros shaped like one row of ``y``, built outside the loop; None if the shape is unknown."""
    from ..api.creation import full

    dims = outer_shape(parts, y)
    if dims is None:
        return None
    return full(dims, 0, y.type.dtype)


def outer_shape(parts: LoopParts, y: Node) -> list | None:
    """The shape of body node ``y`` as outer ints or int64 nodes, or None if not expressible.

    Static lengths are ints. Otherwise ``shape(y)[a]`` is canonicalized inside
    the body (shape rules walk through elementwise ops) and kept only when it
    reads the changing inputs through their shapes alone: a carry has its
    initial value's shape, a sequence row its sequence's trailing shape.
    """
    from ..api.shape import length
    from ..ops.alloc import ShapeI
    from .pipeline import optimize

    known = [d for d in y.type.shape if d is not None]
    if len(known) == y.type.ndim:
        return list(y.type.shape)
    lengths = optimize([length(y, a) for a in range(y.type.ndim)], phases=("canonicalize",))
    consts = {id(i): o for i, o in parts.consts}
    carries = {id(c.inner): c.init for c in parts.carries}
    seqs = {id(i): o for i, o in parts.seqs}
    memo: dict[int, Node] = {}
    for node in toposort(lengths):
        if id(node) in consts:
            memo[id(node)] = consts[id(node)]
        elif id(node) in carries or id(node) in seqs:
            continue  # only its shape may be read (checked below)
        elif isinstance(node.op, ShapeI) and (
            id(node.inputs[0]) in carries or id(node.inputs[0]) in seqs
        ):
            x = node.inputs[0]
            axis = node.op.axis
            memo[id(node)] = (
                length(carries[id(x)], axis) if id(x) in carries else length(seqs[id(x)], axis + 1)
            )
        elif not node.inputs:
            if not isinstance(node.op, Constant):
                return None
            memo[id(node)] = node
        else:
            if any(id(i) not in memo for i in node.inputs):
                return None  # reads a changing value, not just its shape
            from ..graph.node import apply

            memo[id(node)] = apply(node.op, [memo[id(i)] for i in node.inputs], loc=node.loc)
    return [d if d is not None else memo[id(n)] for d, n in zip(y.type.shape, lengths, strict=True)]
