"""The fixpoint driver: rebuild a graph bottom-up, applying node-local rules.

Each node is visited once, after its inputs: it is rebuilt on the rewritten
inputs and the rules indexed under its op key are tried until none fires (a
local fixpoint). A replacement's new nodes are settled the same way before
the replacement itself is tried again. Every visited node is memoized, so the
cost is linear in the graph size times the (small) number of rules per op,
with no whole-graph rescans. A rule chain that returns to an earlier node, or
fires more than ``max_steps`` times on one node, raises ``SymcRewriteError``
naming the rules involved.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from operator import is_not

import numpy as np

from ..errors import SymcError, SymcRewriteError
from ..graph.location import format_location
from ..graph.node import Node, apply
from ..graph.types import broadcast_shapes
from .pattern import COMMUTATIVE, op_key
from .registry import Rule

MAX_STEPS = 64


class Rewriter:
    """Applies ``rules`` to graphs until nothing fires."""

    def __init__(
        self,
        rules: Iterable[Rule],
        phase: str = "",
        trace: bool = False,
        max_steps: int = MAX_STEPS,
    ):
        self.phase = phase
        self.trace = trace
        self.max_steps = max_steps
        self.by_key: dict[str, list[Rule]] = {}
        self.anywhere: list[Rule] = []
        for r in rules:
            if r.keys is None:
                self.anywhere.append(r)
            else:
                for k in r.keys:
                    self.by_key.setdefault(k, []).append(r)
        self.fired: dict[str, int] = {}
        self._cache: dict[str, tuple[Rule, ...]] = {}

    def run(self, outputs: list[Node]) -> list[Node]:
        """The rewritten ``outputs``: a new graph sharing every unchanged node."""
        self.final: dict[int, Node] = {}
        self.keep: list[Node] = []  # holds every visited node so ids stay unique
        self.commuted: dict[tuple, Node] = {}
        self.active: set[int] = set()  # nodes whose fixpoint is in progress
        self.chain: list[str] = []  # the rules whose replacements are being settled
        try:
            return [self.settle(o) for o in outputs]
        finally:
            del self.final, self.keep, self.commuted, self.active, self.chain

    def rules_for(self, node: Node) -> tuple[Rule, ...]:
        if not node.inputs:
            return ()
        key = op_key(node.op)
        got = self._cache.get(key)
        if got is None:
            got = self._cache[key] = (*self.by_key.get(key, ()), *self.anywhere)
        return got

    def settle(self, root: Node) -> Node:
        """The final form of ``root``; settles the not-yet-visited nodes below it first."""
        final = self.final
        got = final.get(id(root))
        if got is not None:
            return got
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in final:
                continue
            if id(node) in self.active or len(self.chain) > self.max_steps:
                # a replacement contains a node whose rewriting led to it
                self._fail(node, self.chain)
            if not expanded:
                stack.append((node, True))
                for i in node.inputs:
                    if id(i) not in final:
                        stack.append((i, False))
                continue
            ins = node.inputs
            new = tuple([final[id(i)] for i in ins])
            if not any(map(is_not, new, ins)):  # never ==: it builds a graph node
                rebuilt = node
            else:
                rebuilt = apply(node.op, new, loc=node.loc)
            done = self._fixpoint(rebuilt)
            self.keep += (node, rebuilt)
            final[id(node)] = final[id(rebuilt)] = done
        return final[id(root)]

    def _rebuild(self, node: Node) -> Node:
        ins = node.inputs
        new = tuple(self.final[id(i)] for i in ins)
        if all(a is b for a, b in zip(new, ins, strict=True)):
            return node
        return apply(node.op, new, loc=node.loc)

    def _fixpoint(self, node: Node) -> Node:
        if not self.rules_for(node):
            return self._finish(node)
        history = [node]
        fired: list[str] = []
        while True:
            got = self.final.get(id(node))
            if got is not None:
                return got
            out = None
            for r in self.rules_for(node):
                out = self._try(r, node)
                if out is not None:
                    break
            if out is None:
                return self._finish(node)
            fired.append(r.name)
            self.fired[r.name] = self.fired.get(r.name, 0) + 1
            if self.trace:
                _print_trace(self.phase, r, node, out)
            if any(out is h for h in history) or len(fired) > self.max_steps:
                self._fail(node, [*self.chain, *fired])
            _adopt_location(out, node, self.final)
            # the replacement's new inputs are settled before it is tried again
            ids = [id(h) for h in history]
            self.active.update(ids)
            self.chain.append(r.name)
            try:
                for i in out.inputs:
                    self.settle(i)
            finally:
                self.active.difference_update(ids)
                self.chain.pop()
            if id(out) not in self.final:
                out = self._rebuild(out)
            history.append(out)
            node = out

    def _fail(self, node: Node, fired: list[str]) -> None:
        raise SymcRewriteError(
            f"rewrite phase {self.phase!r}: the rules did not reach a fixpoint on "
            f"{node.op.label()} ({node.type}); fired in turn: {', '.join(fired[-12:])}. "
            f"Exclude one of them (rewrites=dict(exclude=[...]))."
        )

    def _finish(self, node: Node) -> Node:
        ins = node.inputs
        if len(ins) == 2 and ins[0] is not ins[1] and op_key(node.op) in COMMUTATIVE:
            # x*y and y*x are one value: keep the first one built
            a, b = id(ins[0]), id(ins[1])
            key = (node.op, a, b) if a < b else (node.op, b, a)
            twin = self.commuted.get(key)
            if twin is not None and twin.type == node.type:
                self.final[id(node)] = twin
                self.keep.append(node)
                return twin
            self.commuted[key] = node
        self.final[id(node)] = node
        self.keep.append(node)
        return node

    def _try(self, r: Rule, node: Node) -> Node | None:
        try:
            out = r.fn(node)
        except SymcError as err:
            raise SymcRewriteError(
                f"rewrite {r.name!r} failed on {node.op.label()} ({node.type}): {err}"
            ) from err
        if out is None or out is node:
            return None
        return conform(out, node)


def conform(new: Node, old: Node) -> Node | None:
    """``new`` with ``old``'s type, or None when that cannot be had exactly.

    A replacement must not change the dtype; a smaller static shape is
    broadcast back (a rule dropping ``+ zeros((3,))`` from a scalar).
    """
    if new.type == old.type:
        return new
    if new.type.dtype != old.type.dtype or new.type.ndim > old.type.ndim:
        return None
    target = old.type.shape
    if None in target:
        return None
    try:
        if broadcast_shapes(new.type.shape, target) != target:
            return None
    except SymcError:
        return None
    from ..api.convert import constant
    from ..ops.alloc import Alloc

    lengths = [constant(np.int64(d)) for d in target]
    return apply(Alloc(tuple(target)), (new, *lengths), loc=old.loc)


def _adopt_location(out: Node, matched: Node, final: dict) -> None:
    """New nodes of a replacement report the user's line of the node they replace."""
    stack = [out]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in final or id(n) in seen or not n.inputs:
            continue
        seen.add(id(n))
        n.loc = matched.loc
        stack.extend(n.inputs)


def _print_trace(phase: str, r: Rule, node: Node, out: Node) -> None:
    where = format_location(node.loc)
    at = f"   at {where}" if where else ""
    print(
        f"symc rewrite [{phase}] {r.name}: {node.op.label()} -> {out.op.label()}{at}",
        file=sys.stderr,
    )
