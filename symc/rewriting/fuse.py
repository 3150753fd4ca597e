"""Elementwise fusion: maximal trees of elementwise ops over one loop space become one op.

A region grows from a consumer down into producers that are elementwise,
used only by that region (so nothing is computed twice), and have the
consumer's shape or are scalars (the same loop space; larger broadcast
operands stay inputs). A
region of two or more ops becomes a ``Composite``; 0-d constants become
literals. A reduction whose input is such a region (or a single elementwise
op) used only by it becomes a ``CompositeReduce``. One pass over the graph in
topological order: linear in its size.
"""

from __future__ import annotations

import sys

from ..graph.node import Node, apply
from ..graph.traverse import toposort
from ..ops.composite import Composite, CompositeReduce
from ..ops.elemwise import Cast, Elemwise
from ..ops.leaves import Constant
from ..ops.reduce import Reduce

NAME = "elemwise_fusion"
TAGS = frozenset({"fuse", "fusion"})


def fusable(n: Node) -> bool:
    """Whether ``n`` is computed elementwise (so it can join a fused loop)."""
    return bool(n.inputs) and isinstance(n.op, (Elemwise, Cast, Composite))


def same_loop(producer: Node, root: Node) -> bool:
    """Whether ``producer`` can be computed inside ``root``'s loop: same shape, or a scalar.

    A scalar producer costs one evaluation per element in a fused C loop
    (compilers hoist it); a larger broadcast one would be recomputed for
    every row, so it stays an input.
    """
    return producer.type.shape == root.type.shape or producer.type.ndim == 0


def client_counts(outputs: list[Node], order: list[Node]) -> dict[int, int]:
    """How many uses each node has; being an output counts as a use."""
    counts: dict[int, int] = {}
    for n in order:
        for i in n.inputs:
            counts[id(i)] = counts.get(id(i), 0) + 1
    for o in outputs:
        counts[id(o)] = counts.get(id(o), 0) + 1
    return counts


def fuse(outputs: list[Node], reductions: bool = True, trace: bool = False) -> list[Node]:
    """``outputs`` with their elementwise regions fused into composite ops."""
    order = toposort(outputs)
    clients = client_counts(outputs, order)
    root_of: dict[int, Node] = {}
    members: dict[int, list[Node]] = {}
    for n in reversed(order):
        if not fusable(n) or id(n) in root_of:
            continue
        root_of[id(n)] = n
        region = [n]
        k = 0
        while k < len(region):
            for i in region[k].inputs:
                if (
                    id(i) not in root_of
                    and fusable(i)
                    and clients.get(id(i), 0) == 1
                    and same_loop(i, n)
                ):
                    root_of[id(i)] = n
                    region.append(i)
            k += 1
        members[id(n)] = region

    memo: dict[int, Node] = {}
    for n in order:
        if not n.inputs:
            memo[id(n)] = n
            continue
        rid = root_of.get(id(n))
        if rid is not None and rid is not n:
            continue  # built as part of its region's root
        if rid is n and len(members[id(n)]) > 1:
            memo[id(n)] = _build(n, {id(m) for m in members[id(n)]}, memo, trace)
            continue
        if isinstance(n.op, Reduce) and reductions:
            fused = _fuse_reduce(n, memo, clients, root_of, members)
            if fused is not None:
                memo[id(n)] = fused
                continue
        ins = tuple(memo[id(i)] for i in n.inputs)
        same = all(a is b for a, b in zip(ins, n.inputs, strict=True))
        memo[id(n)] = n if same else apply(n.op, ins, loc=n.loc)
    return [memo[id(o)] for o in outputs]


def _program(root: Node, inside: set[int], memo: dict[int, Node]) -> tuple[tuple, list[Node]]:
    """The steps computing ``root`` from its region, and the external inputs they read."""
    steps: list[tuple] = []
    step_of: dict[int, int] = {}
    externals: list[Node] = []
    ext_of: dict[int, int] = {}

    def arg(i: Node) -> tuple:
        if id(i) in inside:
            return ("step", step_of[id(i)])
        if isinstance(i.op, Constant) and i.type.ndim == 0:
            return ("lit", i.type.dtype, i.op.value.tobytes())
        src = memo[id(i)]
        k = ext_of.get(id(src))
        if k is None:
            k = ext_of[id(src)] = len(externals)
            externals.append(src)
        return ("in", k)

    # post-order over the region (iterative: regions can be long chains)
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        n, expanded = stack.pop()
        if id(n) in step_of:
            continue
        if not expanded:
            stack.append((n, True))
            # reversed, so the first operand's inputs get the first numbers
            stack.extend(
                (i, False) for i in reversed(n.inputs) if id(i) in inside and id(i) not in step_of
            )
            continue
        args = tuple(arg(i) for i in n.inputs)
        if isinstance(n.op, Composite):
            _inline(n.op, args, steps)
        else:
            fn = "cast" if isinstance(n.op, Cast) else n.op.fn
            steps.append((fn, args, n.type.dtype))
        step_of[id(n)] = len(steps) - 1
    return tuple(steps), externals


def _inline(op: Composite, args: tuple, steps: list[tuple]) -> None:
    """Append an existing composite's steps, its inputs read from ``args``."""
    base = len(steps)
    for fn, inner_args, dt in op.steps:
        mapped = tuple(
            args[a[1]] if a[0] == "in" else ("step", base + a[1]) if a[0] == "step" else a
            for a in inner_args
        )
        steps.append((fn, mapped, dt))


def _build(root: Node, inside: set[int], memo: dict[int, Node], trace: bool) -> Node:
    steps, externals = _program(root, inside, memo)
    op = Composite(steps, tuple(e.type.dtype for e in externals))
    out = apply(op, externals, loc=root.loc)
    if trace:
        print(f"symc rewrite [fuse] {NAME}: {len(inside)} ops -> {op.label()}", file=sys.stderr)
    return out


def _fuse_reduce(n: Node, memo, clients, root_of, members) -> Node | None:
    (src,) = n.inputs
    if not fusable(src) or clients.get(id(src), 0) != 1:
        return None
    region = members.get(id(src)) if root_of.get(id(src)) is src else None
    if region is None:
        return None
    steps, externals = _program(src, {id(m) for m in region}, memo)
    op: Reduce = n.op
    return apply(
        CompositeReduce(
            steps, tuple(e.type.dtype for e in externals), op.kind, op.axes, op.keepdims
        ),
        externals,
        loc=n.loc,
    )


def adjacent_unfused(outputs: list[Node]) -> list[tuple[Node, Node]]:
    """Pairs (producer, consumer) of elementwise nodes fusion should have merged.

    A producer qualifies when it is elementwise, used only by the consumer,
    and has the consumer's shape: exactly what :func:`fuse` merges. Used by
    the tests to check that fusion is maximal.
    """
    order = toposort(outputs)
    clients = client_counts(outputs, order)
    pairs = []
    for n in order:
        if not fusable(n):
            continue
        for i in n.inputs:
            if fusable(i) and clients.get(id(i), 0) == 1 and same_loop(i, n):
                pairs.append((i, n))
    return pairs
