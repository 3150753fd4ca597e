"""Reverse-mode differentiation: ``grad``, ``jacobian``, ``hessian``.

Gradients are graphs built from each op's ``pullback``; they can be printed,
rewritten, differentiated again and compiled like any other graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import dtypes
from .errors import SymcDisconnectedError, SymcGradError, SymcTypeError
from .graph.location import user_location, with_location
from .graph.node import Node
from .graph.traverse import toposort
from .graph.types import format_shape


def _fail(err: Exception) -> Exception:
    return with_location(err, user_location(2), verb="called at")


def grad(
    cost: Node,
    wrt: Node | Sequence[Node],
    disconnected: str = "raise",
) -> Node | list[Node]:
    """d ``cost`` / d ``wrt`` as graphs; ``cost`` must be a scalar.

    Args:
        cost: a 0-d floating graph value.
        wrt: a variable or a list of them (any node of the graph works).
        disconnected: "raise" (default) when a ``wrt`` does not influence
            ``cost``, or "zero" to get zeros for it.

    >>> g = sc.grad(sc.sum(sc.softplus(M @ v)), v)
    """
    single = isinstance(wrt, Node)
    wrts = [wrt] if single else list(wrt)
    if not isinstance(cost, Node):
        raise _fail(SymcTypeError(f"grad: the cost must be a symbolic value, got {cost!r}."))
    if cost.type.ndim != 0:
        raise _fail(
            SymcGradError(
                f"grad: the cost must be a scalar, but it has shape "
                f"{format_shape(cost.type.shape)} ({cost.type.dtype}); reduce it first "
                f"(e.g. sc.sum) or use sc.jacobian."
                + (f"\n  cost built at {_where(cost)}" if cost.loc else "")
            )
        )
    if not dtypes.is_float(cost.type.dtype):
        raise _fail(SymcTypeError(f"grad: the cost must be floating, got {cost.type.dtype}."))
    for w in wrts:
        if not isinstance(w, Node):
            raise _fail(SymcTypeError(f"grad: can only differentiate w.r.t. graph values, got {w!r}."))
        if not dtypes.is_float(w.type.dtype):
            raise _fail(
                SymcTypeError(
                    f"grad: cannot differentiate w.r.t. {w.name or 'a value'} of "
                    f"{w.type.describe()}: only floating values have gradients."
                )
            )
    grads = _backprop(cost, wrts)
    out = []
    for w in wrts:
        g = grads.get(id(w))
        if g is None:
            if disconnected == "raise":
                raise _fail(
                    SymcDisconnectedError(
                        f"grad: the cost does not depend on {w.name or repr(w)} "
                        f"({w.type.describe()}); pass disconnected='zero' to get zeros."
                    )
                )
            from .api.creation import zeros_like

            g = zeros_like(w)
        out.append(g)
    return out[0] if single else out


def _where(node: Node) -> str:
    from .graph.location import format_location

    return format_location(node.loc)


def _backprop(cost: Node, wrts: list[Node]) -> dict[int, Node]:
    """Accumulated adjoints of every node between ``cost`` and ``wrts``."""
    from .api.convert import constant
    from .api.reduce import sum_to

    order = toposort([cost])
    wanted = {id(w) for w in wrts}
    # only nodes on a path from a wrt to the cost need adjoints
    reaches: set[int] = set()
    for node in order:
        if id(node) in wanted or any(id(i) in reaches for i in node.inputs):
            reaches.add(id(node))
    adj: dict[int, list[Node]] = {id(cost): [constant(1.0, dtype=cost.type.dtype)]}
    total: dict[int, Node] = {}
    for node in reversed(order):
        parts = adj.pop(id(node), None)
        if parts is None:
            continue
        g = parts[0]
        for p in parts[1:]:
            g = g + p
        total[id(node)] = g
        if not node.inputs or not any(id(i) in reaches for i in node.inputs):
            continue
        try:
            in_grads = node.op.pullback(node.inputs, node, g)
        except (SymcGradError, NotImplementedError) as err:
            raise with_location(SymcGradError(str(err)), node.loc) from None
        for x, gx in zip(node.inputs, in_grads, strict=True):
            if gx is None or id(x) not in reaches:
                continue
            if not dtypes.is_float(x.type.dtype):
                continue
            adj.setdefault(id(x), []).append(sum_to(gx, x))
    return {k: v for k, v in total.items() if k in wanted}


def jacobian(expr: Node, wrt: Node | Sequence[Node], disconnected: str = "raise") -> Any:
    """d ``expr`` / d ``wrt``: shape ``expr.shape + wrt.shape``.

    ``expr`` must have a statically known shape (one gradient per entry).
    """
    single = isinstance(wrt, Node)
    wrts = [wrt] if single else list(wrt)
    if not isinstance(expr, Node):
        raise _fail(SymcTypeError(f"jacobian: expected a symbolic value, got {expr!r}."))
    if None in expr.type.shape:
        raise _fail(
            SymcGradError(
                f"jacobian: the expression's shape {format_shape(expr.type.shape)} must be "
                "known statically (one gradient graph is built per entry)."
            )
        )
    from .api.shape import reshape, stack

    if expr.type.ndim == 0:
        rows = [grad(expr, wrts, disconnected=disconnected)]
    else:
        flat = reshape(expr, (-1,))
        rows = [grad(flat[i], wrts, disconnected=disconnected) for i in range(flat.type.shape[0])]
    out = []
    for k, w in enumerate(wrts):
        if expr.type.ndim == 0:
            out.append(rows[0][k])
            continue
        if not rows:
            from .api.creation import zeros

            out.append(zeros(expr.type.shape + tuple(_len_or_node(w)), dtype=w.type.dtype))
            continue
        stacked = stack([r[k] for r in rows])
        out.append(reshape(stacked, expr.type.shape + tuple(_len_or_node(w))))
    return out[0] if single else out


def _len_or_node(w: Node) -> list:
    from .api.shape import lengths

    return [d if d is not None else n for d, n in zip(w.type.shape, lengths(w), strict=True)]


def hessian(cost: Node, wrt: Node | Sequence[Node], disconnected: str = "raise") -> Any:
    """The matrix of second derivatives of a scalar ``cost`` w.r.t. each ``wrt``."""
    single = isinstance(wrt, Node)
    wrts = [wrt] if single else list(wrt)
    out = []
    for w in wrts:
        if None in w.type.shape:
            raise _fail(
                SymcGradError(
                    f"hessian: {w.name or 'the variable'} must have a static shape, "
                    f"got {format_shape(w.type.shape)}."
                )
            )
        g = grad(cost, w, disconnected=disconnected)
        out.append(jacobian(g, w, disconnected="zero"))
    return out[0] if single else out
