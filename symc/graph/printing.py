"""``dprint``: a readable, indented rendering of a graph with types.

A node used more than once is printed in full the first time, tagged
``[id A]``, and referred to by its tag afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from .node import Node
from .traverse import toposort


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


def dprint_text(outputs: Node | Iterable[Node]) -> str:
    """The ``dprint`` rendering as a string."""
    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    uses: dict[int, int] = {}
    for node in toposort(outs):
        for i in node.inputs:
            uses[id(i)] = uses.get(id(i), 0) + 1
    tags: dict[int, str] = {}
    lines: list[str] = []

    def emit(node: Node, prefix: str, branch: str) -> None:
        # explicit stack instead of recursion: graphs can be thousands deep
        stack = [(node, prefix, branch)]
        while stack:
            n, pre, br = stack.pop()
            shared_use = uses.get(id(n), 0) > 1 and n.inputs
            if id(n) in tags:
                lines.append(f"{pre}{br}[id {tags[id(n)]}] {_head(n)} ...")
                continue
            tag = ""
            if shared_use:
                tags[id(n)] = _tag(len(tags))
                tag = f" [id {tags[id(n)]}]"
            lines.append(f"{pre}{br}{_head(n)} : {n.type}{tag}")
            child_pre = pre + ("   " if br.startswith("└") else "│  " if br else "")
            kids = list(n.inputs)
            for k in reversed(range(len(kids))):
                last = k == len(kids) - 1
                stack.append((kids[k], child_pre, "└─ " if last else "├─ "))

    for o in outs:
        emit(o, "", "")
    return "\n".join(lines)


def dprint(outputs: Node | Iterable[Node], file: TextIO | None = None) -> None:
    """Print a graph, one node per line, indented by depth, with dtype and static shape.

    >>> sc.dprint(sc.sum(x * 2))
    sum{axes=(0,)} : float64[]
    └─ mul : float64[?,]
       ├─ x : float64[?,]
       └─ const 2.0 : float64[]
    """
    print(dprint_text(outputs), file=file or sys.stdout)
