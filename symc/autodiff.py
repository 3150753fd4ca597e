"""Reverse-mode differentiation: ``grad``, ``jacobian``, ``hessian``.

Gradients are graphs built from each op's ``pullback``; they can be printed,
rewritten, differentiated again and compiled like any other graph.

Conventions (see docs/gradients.md): only floating values carry gradients; a
variable the cost reaches only through integer, boolean or piecewise-constant
steps gets a zero gradient; a variable with no path at all to the cost is
*disconnected* and raises unless ``disconnected="zero"``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from . import dtypes
from .errors import SymcDisconnectedError, SymcGradError, SymcTypeError, SymcValueError
from .gcpause import gc_paused
from .graph.location import format_location, user_location, with_location
from .graph.node import Node, building_at
from .graph.traverse import replace, toposort
from .graph.types import format_shape

_DISCONNECTED = ("raise", "zero")


def _fail(err: Exception) -> Exception:
    return with_location(err, user_location(), verb="called at")


def _built(node: Node, what: str) -> str:
    where = format_location(node.loc)
    return f"\n  {what} built at {where}" if where else ""


def _label(w: Node) -> str:
    return f"{w.name!r}" if w.name else f"a value of {w.type.describe()}"


def _as_list(fn: str, wrt: Any) -> tuple[bool, list[Node]]:
    single = isinstance(wrt, Node)
    wrts = [wrt] if single else list(wrt) if isinstance(wrt, (list, tuple)) else None
    if wrts is None:
        raise _fail(
            SymcTypeError(f"{fn}: wrt must be a graph value or a list of them, got {wrt!r}.")
        )
    for w in wrts:
        if not isinstance(w, Node):
            raise _fail(
                SymcTypeError(f"{fn}: can only differentiate w.r.t. graph values, got {w!r}.")
            )
        if not dtypes.is_float(w.type.dtype):
            raise _fail(
                SymcTypeError(
                    f"{fn}: cannot differentiate w.r.t. {_label(w)} ({w.type.describe()}): "
                    f"only floating values have gradients." + _built(w, "it was")
                )
            )
    return single, wrts


def _check_disconnected(fn: str, disconnected: str) -> None:
    if disconnected not in _DISCONNECTED:
        raise _fail(
            SymcValueError(
                f"{fn}: disconnected must be one of {_DISCONNECTED}, got {disconnected!r}."
            )
        )


def grad(
    cost: Node,
    wrt: Node | Sequence[Node],
    disconnected: str = "raise",
) -> Node | list[Node]:
    """d ``cost`` / d ``wrt`` as graphs; ``cost`` must be a floating scalar.

    Args:
        cost: a 0-d floating graph value.
        wrt: a variable or a list of them (any node of the graph works,
            shared variables included); a list gives a list.
        disconnected: "raise" (default) when a ``wrt`` has no path to
            ``cost``, or "zero" to get zeros for it.

    >>> g = sc.grad(sc.sum(sc.softplus(M @ v)), v)
    """
    _check_disconnected("grad", disconnected)
    if not isinstance(cost, Node):
        raise _fail(SymcTypeError(f"grad: the cost must be a symbolic value, got {cost!r}."))
    if cost.type.ndim != 0:
        raise _fail(
            SymcGradError(
                f"grad: the cost must be a scalar, but it has {cost.type.describe()}; "
                f"reduce it first (e.g. sc.sum) or use sc.jacobian." + _built(cost, "cost")
            )
        )
    if not dtypes.is_float(cost.type.dtype):
        raise _fail(
            SymcTypeError(
                f"grad: the cost must be floating, got {cost.type.describe()}; "
                f"cast it (sc.cast(cost, 'float64')) if that is meant." + _built(cost, "cost")
            )
        )
    single, wrts = _as_list("grad", wrt)
    from .api.convert import constant

    # the first gradient loads the gradient index's modules: promote their
    # objects then, and only then (promoting is process-wide)
    with gc_paused(promote="symc.compile.grad_index" not in sys.modules):
        from .compile import grad_index

        here = user_location()
        index = grad_index.key(cost, wrts, disconnected)
        out = None if index is None else grad_index.lookup(index, here)
        if out is None:
            stable = _stabilized(cost, wrts)
            grads = _backprop([(stable, constant(1.0, dtype=cost.type.dtype))], wrts)
            out = [_finish("grad", cost, w, grads, disconnected) for w in wrts]
            if index is not None:
                grad_index.record(index, out, here)
    return out[0] if single else out


def _stabilized(cost: Node, wrts: list[Node]) -> Node:
    """The cost after the canonicalize and stabilize rewrites, still containing every ``wrt``.

    Differentiating the stable form is what makes the gradient stable:
    d/dy log(1 - exp(y)) at y = -1e-20 is -1e20 only through log1mexp.
    A ``wrt`` inside the graph (not a leaf) could be rewritten away, so it
    stands behind a placeholder while the rewrites run and is put back after.
    """
    from .api.creation import tensor
    from .rewriting import stabilize_graph

    swap = {w: tensor(w.name, w.type.shape, w.type.dtype) for w in wrts if not w.is_leaf}
    if swap:
        (cost,) = replace([cost], swap)
    (stable,) = stabilize_graph([cost])
    if swap:
        (stable,) = replace([stable], {ph: w for w, ph in swap.items()})
    return stable


def _finish(fn: str, cost: Node, w: Node, grads: dict[int, Node | None], disconnected: str):
    """The gradient for ``w``: computed, zero (no differentiable path), or disconnected."""
    g = grads.get(id(w))
    if g is not None:
        return g
    if id(w) not in grads and disconnected == "raise":
        raise _disconnected(fn, cost, w)
    from .api.creation import zeros_like

    return zeros_like(w)


def _disconnected(fn: str, cost: Node, w: Node) -> Exception:
    return _fail(
        SymcDisconnectedError(
            f"{fn}: the expression ({cost.type.describe()}) does not depend on "
            f"{_label(w)} ({w.type.describe()}); pass disconnected='zero' to get zeros."
            + _built(w, "that variable was")
            + _built(cost, "the expression was")
        )
    )


def vjp(seeds: Sequence[tuple[Node, Node]], wrt: Sequence[Node]) -> dict[int, Node | None]:
    """Vector-Jacobian products: ``sum_k seed_k . d out_k / d w`` for each ``w`` of ``wrt``.

    Returns a dict keyed by ``id(w)``: the gradient graph, ``None`` when ``w``
    reaches the outputs only through non-differentiable steps (its gradient
    is zero), and no entry when ``w`` is not in the outputs' graph at all.
    """
    return _backprop(list(seeds), list(wrt))


def _backprop(seeds: list[tuple[Node, Node]], wrts: list[Node]) -> dict[int, Node | None]:
    """Accumulated adjoints of every node between the seeded outputs and ``wrts``."""
    from .api.reduce import sum_to

    order = toposort([o for o, _ in seeds])
    wanted = {id(w) for w in wrts}
    # only nodes on a path from a wrt to an output need adjoints
    reaches: set[int] = set()
    for node in order:
        if id(node) in wanted:
            reaches.add(id(node))
            continue
        for i in node.inputs:
            if id(i) in reaches:
                reaches.add(id(node))
                break
    adj: dict[int, list[Node]] = {}
    for out, seed in seeds:
        if id(out) in reaches:
            adj.setdefault(id(out), []).append(seed)
    result: dict[int, Node | None] = {k: None for k in wanted if k in reaches}
    for node in reversed(order):
        nid = id(node)
        if nid not in reaches:
            continue
        parts = adj.pop(nid, None)
        if parts is None:
            continue
        g = parts[0]
        for p in parts[1:]:
            g = g + p
        if nid in wanted:
            result[nid] = g
        inputs = node.inputs
        if not inputs or (nid in wanted and not any(id(i) in reaches for i in inputs)):
            continue
        outer_loc = building_at[0]
        building_at[0] = node.loc
        try:
            in_grads = node.op.pullback(inputs, node, g)
            for x, gx in zip(inputs, in_grads, strict=True):
                if gx is None or id(x) not in reaches or not dtypes.is_float(x.type.dtype):
                    continue
                adj.setdefault(id(x), []).append(sum_to(gx, x))
        except (SymcGradError, NotImplementedError) as err:
            msg = str(err) or f"{node.op.label()}: this op has no gradient rule."
            raise with_location(SymcGradError(msg), node.loc) from None
        finally:
            building_at[0] = outer_loc
    return result


def jacobian(expr: Node, wrt: Node | Sequence[Node], disconnected: str = "raise") -> Any:
    """d ``expr`` / d ``wrt``: an array of shape ``expr.shape + wrt.shape`` per ``wrt``.

    ``expr`` must have a statically known shape: one gradient graph (a
    vector-Jacobian product with a one-hot seed) is built per entry.

    >>> J = sc.jacobian(sc.exp(v3), v3)   # v3 = sc.vector("v3", length=3): a 3x3 diagonal
    """
    _check_disconnected("jacobian", disconnected)
    if not isinstance(expr, Node):
        raise _fail(SymcTypeError(f"jacobian: expected a symbolic value, got {expr!r}."))
    if None in expr.type.shape:
        raise _fail(
            SymcGradError(
                f"jacobian: the expression's shape {format_shape(expr.type.shape)} must be "
                f"known statically (one gradient graph is built per entry)."
                + _built(expr, "expression")
            )
        )
    if not dtypes.is_float(expr.type.dtype):
        raise _fail(
            SymcTypeError(
                f"jacobian: the expression must be floating, got {expr.type.describe()}."
                + _built(expr, "expression")
            )
        )
    single, wrts = _as_list("jacobian", wrt)
    if expr.type.ndim == 0:
        from .api.convert import constant

        grads = _backprop([(expr, constant(1.0, dtype=expr.type.dtype))], wrts)
        out = [_finish("jacobian", expr, w, grads, disconnected) for w in wrts]
        return out[0] if single else out

    import numpy as np

    from .api.convert import constant
    from .api.shape import reshape, stack

    n = int(np.prod(expr.type.shape, dtype=np.int64))
    rows: list[dict[int, Node | None]] = []
    for k in range(n):
        seed = np.zeros(n, dtype=expr.type.dtype)
        seed[k] = 1
        rows.append(_backprop([(expr, constant(seed.reshape(expr.type.shape)))], wrts))
    out = []
    for w in wrts:
        full = expr.type.shape + tuple(_len_or_node(w))
        if n and id(w) not in rows[0] and disconnected == "raise":
            raise _disconnected("jacobian", expr, w)
        if n == 0 or all(r.get(id(w)) is None for r in rows):
            from .api.creation import zeros

            out.append(zeros(full, dtype=w.type.dtype))
            continue
        parts = [r[id(w)] if r[id(w)] is not None else _zeros_like(w) for r in rows]
        out.append(reshape(stack(parts), full))
    return out[0] if single else out


def _zeros_like(w: Node) -> Node:
    from .api.creation import zeros_like

    return zeros_like(w)


def _len_or_node(w: Node) -> list:
    from .api.shape import lengths

    return [d if d is not None else n for d, n in zip(w.type.shape, lengths(w), strict=True)]


def hessian(cost: Node, wrt: Node | Sequence[Node], disconnected: str = "raise") -> Any:
    """The matrix of second derivatives of a scalar ``cost`` w.r.t. each ``wrt``.

    For a list, returns the diagonal blocks: ``d2 cost / d w_k d w_k`` for
    each ``w_k`` (shape ``w_k.shape + w_k.shape``). Each ``wrt`` needs a
    static shape.

    >>> H = sc.hessian(sc.sum(v3 ** 3), v3)   # diag(6 * v3)
    """
    _check_disconnected("hessian", disconnected)
    single, wrts = _as_list("hessian", wrt)
    out = []
    for w in wrts:
        if None in w.type.shape:
            raise _fail(
                SymcGradError(
                    f"hessian: {_label(w)} must have a static shape, got "
                    f"{w.type.describe()}; declare it, e.g. sc.vector('v', length=3)."
                )
            )
        g = grad(cost, w, disconnected=disconnected)
        out.append(jacobian(g, w, disconnected="zero"))
    return out[0] if single else out
