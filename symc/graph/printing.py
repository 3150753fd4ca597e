"""``dprint``: a readable, indented rendering of a graph with types.

A node used more than once is printed in full the first time, tagged
``[id A]``, and referred to by its tag afterwards. Indentation stops at
``max_depth`` levels: a subtree deeper than that is tagged, referred to, and
printed as a block of its own below, so a chain of 10,000 ops prints as
blocks of readable width instead of lines 30,000 characters long.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from .node import Node
from .traverse import toposort

MAX_DEPTH = 40


def _tag(k: int) -> str:
    letters = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _head(node: Node) -> str:
    from ..ops.leaves import Constant, Input, Shared

    op = node.op
    if isinstance(op, Input):
        return f"{node.name or 'input'}"
    if isinstance(op, Shared):
        return f"shared {node.name}" if node.name else "shared"
    if isinstance(op, Constant):
        return f"const {op.label()}"
    text = op.label()
    return f"{text} ({node.name})" if node.name else text


class _Printer:
    def __init__(self, outs: list[Node], max_depth: int):
        self.max_depth = max(1, max_depth)
        self.uses: dict[int, int] = {}
        for node in toposort(outs):
            for i in node.inputs:
                self.uses[id(i)] = self.uses.get(id(i), 0) + 1
        for o in outs:  # an output printed inside an earlier one is referred to by its tag
            self.uses[id(o)] = self.uses.get(id(o), 0) + 1
        self.tags: dict[int, str] = {}
        self.lines: list[str] = []
        self.blocks: list[Node] = []  # subtrees cut at max_depth, printed after
        self.printed: set[int] = set()

    def tag(self, n: Node) -> str:
        t = self.tags.get(id(n))
        if t is None:
            t = self.tags[id(n)] = _tag(len(self.tags))
        return t

    def tree(self, root: Node) -> None:
        # an explicit stack instead of recursion: graphs can be thousands deep
        stack = [(root, "", "", 0)]
        while stack:
            n, pre, br, depth = stack.pop()
            if id(n) in self.printed:
                self.lines.append(f"{pre}{br}[id {self.tag(n)}] {_head(n)} ...")
                continue
            if n.inputs and depth >= self.max_depth:
                if id(n) not in self.tags:
                    self.blocks.append(n)
                t = self.tag(n)
                self.lines.append(f"{pre}{br}[id {t}] {_head(n)} ... (continued below)")
                continue
            if n.inputs:
                self.printed.add(id(n))
            tag = ""
            if n.inputs and (self.uses.get(id(n), 0) > 1 or id(n) in self.tags):
                tag = f" [id {self.tag(n)}]"
            self.lines.append(f"{pre}{br}{_head(n)} : {n.type}{tag}")
            child_pre = pre + ("   " if br.startswith("└") else "│  " if br else "")
            kids = n.inputs
            for k in range(len(kids) - 1, -1, -1):
                last = k == len(kids) - 1
                stack.append((kids[k], child_pre, "└─ " if last else "├─ ", depth + 1))

    def run(self, outs: list[Node]) -> str:
        for o in outs:
            self.tree(o)
        done = 0
        while done < len(self.blocks):
            block = self.blocks[done]
            done += 1
            if id(block) not in self.printed:
                self.lines.append("")
                self.tree(block)
        return "\n".join(self.lines)


def dprint_text(outputs: Node | Iterable[Node], max_depth: int = MAX_DEPTH) -> str:
    """The ``dprint`` rendering as a string."""
    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    return _Printer(outs, max_depth).run(outs)


def dprint(
    outputs: Node | Iterable[Node], file: TextIO | None = None, max_depth: int = MAX_DEPTH
) -> None:
    """Print a graph, one node per line, indented by depth, with dtype and static shape.

    Args:
        outputs: a node or a list of nodes (printed one after the other).
        file: where to write (default: standard output).
        max_depth: indentation levels before a subtree is moved to a block below.

    >>> sc.dprint(sc.sum(x * 2))
    sum{axes=(0,)} : float64[]
    └─ mul : float64[?,]
       ├─ x : float64[?,]
       └─ const 2.0 : float64[]
    """
    print(dprint_text(outputs, max_depth), file=file or sys.stdout)
