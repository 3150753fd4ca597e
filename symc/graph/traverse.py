"""Walking graphs: topological order, free inputs, and rebuilding with replacements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..errors import SymcShapeError, SymcTypeError
from .location import user_location, with_location
from .node import Node, apply


def _fail(err: Exception) -> Exception:
    return with_location(err, user_location(), verb="called at")


def toposort(outputs: Iterable[Node]) -> list[Node]:
    """Every node the ``outputs`` depend on, each after its inputs (iterative, no recursion)."""
    order: list[Node] = []
    append = order.append
    # a node is marked when first pushed: in a DAG it cannot be reached again
    # from below while it is still on the stack
    seen: set[int] = set()
    mark = seen.add
    for root in outputs:
        if id(root) in seen:
            continue
        mark(id(root))
        stack = [(root, iter(root.inputs))]
        push, pop = stack.append, stack.pop
        while stack:
            node, it = stack[-1]
            for child in it:
                if id(child) not in seen:
                    mark(id(child))
                    push((child, iter(child.inputs)))
                    break
            else:
                pop()
                append(node)
    return order


def inputs_of(outputs: Node | Iterable[Node]) -> list[Node]:
    """The free symbolic inputs and shared variables of a graph, in first-seen order.

    >>> sc.inputs_of([cost, g])
    """
    from ..ops.leaves import Constant

    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    return [n for n in toposort(outs) if n.is_leaf and not isinstance(n.op, Constant)]


def invariant_frontier(outputs: list[Node], seeds: set[int]) -> list[Node]:
    """What a loop body needs from outside: nodes that do not depend on ``seeds``.

    ``seeds`` are the ids of the nodes that change per step (inner inputs).
    The result holds each node that depends on none of them and is an input
    of a node that does, or is one of ``outputs``; in order of first use.
    """
    depends = set(seeds)
    order = toposort(outputs)
    for node in order:
        if any(id(i) in depends for i in node.inputs):
            depends.add(id(node))
    found: dict[int, Node] = {}
    for node in order:
        if id(node) in depends:
            for i in node.inputs:
                if id(i) not in depends:
                    found.setdefault(id(i), i)
    for o in outputs:
        if id(o) not in depends:
            found.setdefault(id(o), o)
    return list(found.values())


def replace(outputs: Node | Iterable[Node], replacements: Mapping[Node, object]) -> list[Node]:
    """The graph of ``outputs`` with some nodes substituted (types are re-inferred).

    Returns a list (one graph per output). A replacement must have as many
    dimensions as what it replaces; dtype and static lengths may differ, and
    the nodes above are re-typed (raising if they no longer fit).

    >>> sc.replace([cost], {v: 2 * v})
    """
    from ..api.convert import as_node

    outs = [outputs] if isinstance(outputs, Node) else list(outputs)
    memo: dict[int, Node] = {}
    for old, new in replacements.items():
        if not isinstance(old, Node):
            raise _fail(SymcTypeError(f"replace: keys must be graph values, got {old!r}."))
        new = as_node(new, like=old)
        if new.type.ndim != old.type.ndim:
            raise _fail(
                SymcShapeError(
                    f"replace: {old.name or 'a value'} of {old.type.describe()} cannot be "
                    f"replaced by a value of {new.type.describe()}: the number of "
                    f"dimensions differs."
                )
            )
        memo[id(old)] = new
    for node in toposort(outs):
        if id(node) in memo:
            continue
        new_inputs = tuple(memo.get(id(i), i) for i in node.inputs)
        if all(a is b for a, b in zip(new_inputs, node.inputs, strict=True)):
            memo[id(node)] = node
        else:
            memo[id(node)] = apply(node.op, new_inputs, loc=node.loc)
    return [memo[id(o)] for o in outs]
