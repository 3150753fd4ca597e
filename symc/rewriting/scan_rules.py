"""Scan rules: the optimizer's phase for loops, between ``specialize`` and ``fuse``.

Every ``Loop`` of a graph is rewritten once, however many of its results the
graph uses (its results are nodes that differ only in ``Loop.result``):

1. ``shape_of_loop_result`` (a node-local rule, run with the canonical
   rules first): ``shape(outs)[0]`` is the number of steps (``n_steps``, or
   the ``("steps",)`` result after an ``until``) and the other lengths are
   the initial carry's, so asking for a length never runs a loop; gradients
   ask for lengths all the time (``zeros_like`` of stacked outputs);
2. ``scan_body``: the body gets the optimizer phases the graph around it
   gets (for ``function``: canonicalize, stabilize, specialize, and this
   phase for nested loops; for ``grad``'s stabilized cost, canonicalize,
   stabilize and this phase); bodies are fused
   in the fuse phase (:func:`fuse_bodies`), after hoisting, so a fused region
   never mixes invariant and changing work; bodies also get ``BODY_RULES``
   (``matmul_outer_to_mul``: an outer product by matmul, as gradients build
   it, becomes a broadcast multiply that fuses into the sum it feeds);
3. ``scan_last_state``: an output only read as ``outs[-m]`` or
   ``outs[-k:]`` (k, m <= ``MAX_LAST_ROWS``) is not stored: its last rows
   come from carries (the output's own carry when it is fed back, else a new
   shift register of carries), so the loop keeps constant memory in the
   number of steps;
4. ``scan_prune``: carries, outputs and constants that no used result needs
   are dropped;
5. ``scan_hoist``: body subgraphs that read only loop constants are computed
   once, outside the loop (see :func:`symc.rewriting.scan_edit.hoist`).

Each step can be excluded by name (``exclude=["scan_hoist"]``); ``"scan"``
excludes the whole phase. The rewritten loop is an ordinary ``Loop``: no
result kinds beyond those of :mod:`symc.ops.scan` are introduced.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable

from ..graph.node import Node, apply
from ..graph.traverse import toposort
from ..ops.index import FULL, SYM, Subtensor
from ..ops.scan import Body, Loop
from .registry import local
from .scan_edit import LoopParts, Output, hoist, keep_last, prune

#: the most rows ``scan_last_state`` keeps as carries; longer tails stay stacked outputs
MAX_LAST_ROWS = 8

#: the parts of this phase, each excludable by name
STEPS = ("scan_body", "scan_last_state", "scan_prune", "scan_hoist")


@local(
    "shape_of_loop_result",
    ["ShapeI"],
    tags=("scan", "shape"),
    pattern="shape(scan result)[a]",
    replacement="n_steps, or a length of the initial carry",
    why="a length of a loop result is known without running the loop",
)
def shape_of_loop_result(node: Node) -> Node | None:
    from ..api.shape import length

    (x,) = node.inputs
    op = x.op
    if not isinstance(op, Loop):
        return None
    kind, axis = op.result[0], node.op.axis
    n, _, inits, _ = op.split(x.inputs)
    if kind in ("out", "history") and axis == 0:
        return apply(op.sibling("steps"), x.inputs, loc=x.loc) if op.has_stop else n
    if kind == "carry":
        return length(inits[op.result[1]], axis)
    if kind == "history":
        return length(inits[op.result[1]], axis - 1)
    if kind == "out":
        y = op.step_outputs[op.result[1]]
        for k, u in enumerate(op.carry_outputs):
            if u is y:  # a fed-back output has its carry's shape
                return length(inits[k], axis - 1)
    return None


RULES = [shape_of_loop_result]


@local(
    "matmul_outer_to_mul",
    ["MatMul"],
    tags=("scan",),
    pattern="matmul(a[m, 1], b[1, n])",
    replacement="a * b (broadcast)",
    why="an outer product is elementwise; fused with the sum it feeds (a gradient "
    "accumulating dW += outer(d, h) every step) it needs no temporary and no matmul call",
)
def matmul_outer_to_mul(node: Node) -> Node | None:
    a, b = node.inputs
    if a.type.ndim != 2 or b.type.ndim != 2 or a.type.shape[1] != 1 or b.type.shape[0] != 1:
        return None
    return a * b


#: specializations applied to loop bodies only (a body runs once per step, so they pay off)
BODY_RULES = [matmul_outer_to_mul]


def optimize_loops(
    outs: list[Node],
    exclude: set[str],
    include: set[str],
    trace: bool = False,
    stats: dict[str, int] | None = None,
    phases: tuple[str, ...] = ("canonicalize", "stabilize", "specialize", "scan"),
) -> list[Node]:
    """The scan phase (module docstring) applied to the graph of ``outs``.

    Loop bodies go through ``phases`` (those of the graph around them, without fusion).
    """
    if not _has_loop(outs):
        return outs
    if "shape_of_loop_result" not in exclude:
        from . import canonicalize
        from .engine import Rewriter

        rules = [r for r in (*RULES, *canonicalize.RULES) if r.selected(exclude, include)]
        rw = Rewriter(rules, "scan", trace)
        outs = rw.run(outs)
        _count(stats, rw.fired)
    return _LoopPass(outs, exclude, include, trace, stats, phases).run()


def _has_loop(outs: list[Node]) -> bool:
    return any(isinstance(n.op, Loop) for n in toposort(outs))


def _count(stats: dict[str, int] | None, fired: dict[str, int]) -> None:
    if stats is not None:
        for k, n in fired.items():
            stats[k] = stats.get(k, 0) + n


class _LoopPass:
    """One walk over a graph, rewriting each loop once and the nodes that read its results."""

    def __init__(self, outs, exclude, include, trace, stats, phases):
        self.outs = outs
        self.phases = phases
        self.order = toposort(outs)
        self.exclude = exclude
        self.include = include
        self.trace = trace
        self.stats = stats
        self.is_output = {id(o) for o in outs}
        self.clients: dict[int, list[Node]] = {}
        self.groups: dict[tuple, list[Node]] = {}
        for node in self.order:
            for i in node.inputs:
                self.clients.setdefault(id(i), []).append(node)
            if isinstance(node.op, Loop):
                self.groups.setdefault(_group_key(node), []).append(node)
        self.memo: dict[int, Node] = {}
        self.redirect: dict[int, Callable[[Node], Node]] = {}
        self.bodies: dict[int, tuple[Body, list[Node]]] = {}
        self.done: set[tuple] = set()

    def run(self) -> list[Node]:
        memo = self.memo
        for node in self.order:
            if id(node) in memo:
                continue
            if not node.inputs:
                memo[id(node)] = node
            elif id(node) in self.redirect:
                memo[id(node)] = self.redirect[id(node)](node)
            elif isinstance(node.op, Loop):
                if _group_key(node) not in self.done:  # else: a result no reader needs now
                    self.done.add(_group_key(node))
                    self._rewrite(node)
            else:
                ins = [memo[id(i)] for i in node.inputs]
                same = all(a is b for a, b in zip(ins, node.inputs, strict=True))
                memo[id(node)] = node if same else apply(node.op, ins, loc=node.loc)
        return [self.memo[id(o)] for o in self.outs]

    def on(self, step: str) -> bool:
        return step not in self.exclude

    def fired(self, step: str, what: str, op: Loop) -> None:
        if self.stats is not None:
            self.stats[step] = self.stats.get(step, 0) + 1
        if self.trace:
            print(f"symc rewrite [scan] {step}: {what} in {op.label()}", file=sys.stderr)

    # --- one loop
    def _rewrite(self, node: Node) -> None:
        op: Loop = node.op
        results = self.groups[_group_key(node)]
        parts = LoopParts(op, tuple(self.memo[id(i)] for i in node.inputs))
        if self.on("scan_body"):
            parts.set_outputs(self._body(op.body, parts.outputs()))
        kept_carries: set[int] = set()
        full_outs: set[int] = set()
        tails: dict[int, int] = {}
        for r in results:
            kind = r.op.result[0]
            if kind in ("carry", "history"):
                kept_carries.add(r.op.result[1])
            elif kind == "out":
                k = self._tail(r) if self.on("scan_last_state") else None
                if k is None:
                    full_outs.add(r.op.result[1])
                else:
                    tails[r.op.result[1]] = k
        registers = {}
        for j, k in tails.items():
            chain = keep_last(parts, parts.outs[j], k) if j not in full_outs else None
            if chain is None:
                full_outs.add(j)
            else:
                registers[j] = chain
                self.fired("scan_last_state", f"the last {k} row(s) of output {j}", op)
        keep = {c for c in parts.carries if c.origin in kept_carries}
        keep |= {c for chain in registers.values() for c in chain}
        keep_outs = {o for o in parts.outs if o.origin in full_outs}
        self._prune(parts, keep, keep_outs, op)
        if self.on("scan_hoist"):
            moved = hoist(parts)
            if moved:
                self.fired("scan_hoist", f"{moved} invariant subgraph(s) moved out", op)
                self._prune(parts, keep, keep_outs, op)
        new, outer = parts.build()
        self._bind(results, parts, new, outer, registers)

    def _body(self, body: Body, outputs: list[Node]) -> list[Node]:
        """The body's outputs through the optimizer (minus fusion), once per body."""
        got = self.bodies.get(id(body))
        if got is None:
            from .pipeline import optimize

            new = optimize(
                outputs,
                exclude=self.exclude,
                include=self.include,
                phases=self.phases,
                trace=self.trace,
                stats=self.stats,
            )
            if "specialize" in self.phases:
                rules = [r for r in BODY_RULES if r.selected(self.exclude, self.include)]
                if rules:
                    from .engine import Rewriter

                    rw = Rewriter(rules, "scan", self.trace)
                    new = rw.run(new)
                    _count(self.stats, rw.fired)
            got = self.bodies[id(body)] = (body, new)  # the body is held so its id stays unique
        return list(got[1])

    def _prune(self, parts: LoopParts, keep, keep_outs: set[Output], op: Loop) -> None:
        if self.on("scan_prune"):
            gone = prune(parts, keep, keep_outs)
            if gone:
                self.fired("scan_prune", f"{gone} unused part(s) dropped", op)

    def _tail(self, r: Node) -> int | None:
        """How many last rows of stacked output ``r`` its readers need; None: all of them."""
        if id(r) in self.is_output:
            return None
        k = 0
        for c in self.clients.get(id(r), ()):
            if not isinstance(c.op, Subtensor) or c.inputs[0] is not r:
                return None
            first = c.op.items[0]
            if first[0] == "int" and first[1] != SYM and first[1] < 0:
                depth = -first[1]
            elif (
                first[0] == "slice"
                and first[1] not in (None, SYM)
                and first[1] < 0
                and first[2] is None
                and first[3] in (None, 1)
            ):
                depth = -first[1]
            else:
                return None
            k = max(k, depth)
        return k if 0 < k <= MAX_LAST_ROWS else None

    def _bind(self, results, parts: LoopParts, new: Loop, outer: tuple, registers) -> None:
        """Map the old results (and the readers of dropped outputs) to the new loop's."""
        carry_at = {c.origin: k for k, c in enumerate(parts.carries) if c.origin is not None}
        out_at = {o.origin: k for k, o in enumerate(parts.outs) if o.origin is not None}
        for r in results:
            kind = r.op.result[0]
            if kind == "steps":
                self.memo[id(r)] = apply(new.sibling("steps"), outer, loc=r.loc)
            elif kind in ("carry", "history"):
                self.memo[id(r)] = apply(
                    new.sibling(kind, carry_at[r.op.result[1]]), outer, loc=r.loc
                )
            elif r.op.result[1] in registers:
                index = {id(c): k for k, c in enumerate(parts.carries)}
                chain = registers[r.op.result[1]]
                finals = [
                    apply(new.sibling("carry", index[id(c)]), outer, loc=r.loc) for c in chain
                ]
                tail = _Tail(finals, new, outer, parts.n, self.memo)
                for c in self.clients.get(id(r), ()):
                    self.redirect[id(c)] = tail.read
            else:
                self.memo[id(r)] = apply(
                    new.sibling("out", out_at[r.op.result[1]]), outer, loc=r.loc
                )


class _Tail:
    """The last rows of a stacked output, rebuilt from final carries for each reader."""

    def __init__(self, finals: list[Node], loop: Loop, outer: tuple, n: Node, memo: dict):
        self.finals = finals
        self.loop = loop
        self.outer = outer
        self.n = n
        self.memo = memo
        self._rows: Node | None = None

    def complete(self) -> bool:
        """Whether every register row holds a row of the output (the loop ran enough steps)."""
        length = self.loop.length
        return length is not None and not self.loop.has_stop and length >= len(self.finals)

    def rows(self) -> Node:
        """The output's last ``min(k, steps)`` rows, the oldest first."""
        if self._rows is None:
            from ..api.convert import constant
            from ..api.math import minimum
            from ..api.shape import stack

            stacked = stack(self.finals)
            if self.complete():
                self._rows = stacked
            else:
                k = constant(len(self.finals), dtype="int64")
                steps = (
                    apply(self.loop.sibling("steps"), self.outer) if self.loop.has_stop else self.n
                )
                rest = (FULL,) * (stacked.type.ndim - 1)
                self._rows = Subtensor((("slice", SYM, None, None), *rest))(
                    stacked, k - minimum(k, steps)
                )
        return self._rows

    def read(self, reader: Node) -> Node:
        """``reader`` (``outs[-m, ...]`` or ``outs[-k:, ...]``) applied to the kept rows."""
        items = reader.op.items
        syms = [self.memo[id(s)] for s in reader.inputs[1:]]
        if self.complete() and items[0][0] == "int":
            row = self.finals[len(self.finals) + items[0][1]]
            rest = items[1:]
            if not syms and all(it == FULL for it in rest):
                return row
            return apply(Subtensor(rest), (row, *syms), loc=reader.loc)
        return apply(Subtensor(items), (self.rows(), *syms), loc=reader.loc)


def _group_key(node: Node) -> tuple:
    return (node.op.loop_key(), *map(id, node.inputs))


def fuse_bodies(outs: list[Node], trace: bool = False) -> list[Node]:
    """``outs`` with the body of every loop (nested ones first) fused (the fuse phase)."""
    if not _has_loop(outs):
        return outs
    from .fuse import fuse

    memo: dict[int, Node] = {}
    bodies: dict[int, tuple[Body, Body]] = {}
    for node in toposort(outs):
        if not node.inputs:
            memo[id(node)] = node
            continue
        op = node.op
        if isinstance(op, Loop):
            got = bodies.get(id(op.body))
            if got is None:
                fused = fuse(fuse_bodies(list(op.body.outputs), trace), trace=trace)
                got = bodies[id(op.body)] = (op.body, Body(op.body.inputs, fused))
            op = dataclasses.replace(op, body=got[1])
        ins = [memo[id(i)] for i in node.inputs]
        same = op is node.op and all(a is b for a, b in zip(ins, node.inputs, strict=True))
        memo[id(node)] = node if same else apply(op, ins, loc=node.loc)
    return [memo[id(o)] for o in outs]
