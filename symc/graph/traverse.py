"""Walking graphs: topological order, free inputs, and rebuilding with replacements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .node import Node, apply


def toposort(outputs: Iterable[Node]) -> list[Node]:
    """Every node the ``outputs`` depend on, each after its inputs (iterative, no recursion)."""
    order: list[Node] = []
    done: set[int] = set()
    for root in outputs:
        if id(root) in done:
            continue
        stack = [(root, iter(root.inputs))]
        pending = {id(root)}
        while stack:
            node, it = stack[-1]
            for child in it:
                if id(child) not in done and id(child) not in pending:
                    pending.add(id(child))
                    stack.append((child, iter(child.inputs)))
                    break
            else:
                stack.pop()
                pending.discard(id(node))
                done.add(id(node))
                order.append(node)
    return order


def inputs_of(outputs: Node | Iterable[Node]) -> list[Node]:
    """The free symbolic inputs and shared variables of a graph, in first-seen order.

    >>> sc.inputs_of([cost, g])
    """
    from ..ops.leaves import Constant

    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    return [n for n in toposort(outs) if n.is_leaf and not isinstance(n.op, Constant)]


def replace(outputs: Node | Iterable[Node], replacements: Mapping[Node, object]) -> list[Node]:
    """The graph of ``outputs`` with some nodes substituted (types are re-inferred).

    >>> sc.replace([cost], {v: 2 * v})
    """
    from ..api.convert import as_node

    single = isinstance(outputs, Node)
    outs = [outputs] if single else list(outputs)
    memo: dict[int, Node] = {id(k): as_node(v, like=k) for k, v in replacements.items()}
    for node in toposort(outs):
        if id(node) in memo:
            continue
        new_inputs = tuple(memo.get(id(i), i) for i in node.inputs)
        if all(a is b for a, b in zip(new_inputs, node.inputs, strict=True)):
            memo[id(node)] = node
        else:
            memo[id(node)] = apply(node.op, new_inputs, loc=node.loc)
    return [memo[id(o)] for o in outs]
