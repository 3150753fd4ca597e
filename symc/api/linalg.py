"""Products: ``matmul`` (``@``), ``dot``, ``tensordot``, ``outer``, with NumPy's semantics.

Only ``matmul`` is an op (``symc.ops.linalg.MatMul``); the others are built
from it, transposes and reshapes, so their gradients come for free and a back
end lowers one product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..errors import SymcShapeError, SymcTypeError, SymcValueError
from ..graph.location import user_location, with_location
from ..graph.node import Node, apply
from ..graph.types import format_shape
from ..ops.linalg import MatMul
from . import math as m
from .convert import as_nodes
from .shape import expand_dims, length, reshape, squeeze, transpose

_MATMUL = MatMul()


def _fail(err: Exception) -> Exception:
    return with_location(err, user_location())


def matmul(a: Any, b: Any) -> Node:
    """``a @ b``: NumPy's ``matmul`` (1-D operands promoted, batch axes broadcast).

    >>> h = X @ W          # (n, k) @ (k, m) -> (n, m); (k,) @ (k,) -> ()
    """
    a, b = as_nodes(a, b)
    return apply(_MATMUL, (a, b))


def _matrix_transpose(x: Node) -> Node:
    n = x.type.ndim
    return transpose(x, (*range(n - 2), n - 1, n - 2))


def matmul_pullback(a: Node, b: Node, g: Node) -> list[Node | None]:
    """Gradients of ``a @ b`` given ``g``: ``g @ b.T`` and ``a.T @ g``, batch axes left in.

    1-D operands are promoted the way the forward product promotes them and the
    added axis is squeezed back out; the grad driver's ``sum_to`` then sums the
    broadcast batch axes away.
    """
    want_a = dtypes.is_differentiable(a.type.dtype)
    want_b = dtypes.is_differentiable(b.type.dtype)
    if a.type.ndim == 1 and b.type.ndim == 1:
        return [g * b if want_a else None, g * a if want_b else None]
    a2 = expand_dims(a, 0) if a.type.ndim == 1 else a
    b2 = expand_dims(b, -1) if b.type.ndim == 1 else b
    g2 = g
    if b.type.ndim == 1:
        g2 = expand_dims(g2, -1)
    if a.type.ndim == 1:
        g2 = expand_dims(g2, -2)
    ga = gb = None
    if want_a:
        ga = matmul(g2, _matrix_transpose(b2))
        if a.type.ndim == 1:
            ga = squeeze(ga, -2)
    if want_b:
        gb = matmul(_matrix_transpose(a2), g2)
        if b.type.ndim == 1:
            gb = squeeze(gb, -1)
    return [ga, gb]


def dot(a: Any, b: Any) -> Node:
    """NumPy's ``dot``: a product for 0-d operands, ``matmul`` up to 2-D, else a contraction.

    For N-D ``a`` and M-D ``b`` (M >= 2) it sums over the last axis of ``a`` and
    the second-to-last of ``b``: the result has shape
    ``a.shape[:-1] + b.shape[:-2] + b.shape[-1:]``.
    """
    a, b = as_nodes(a, b)
    if a.type.ndim == 0 or b.type.ndim == 0:
        return m.multiply(a, b)
    ka = a.type.shape[-1]
    kb = b.type.shape[-1] if b.type.ndim == 1 else b.type.shape[-2]
    if ka is not None and kb is not None and ka != kb:
        raise _fail(
            SymcShapeError(
                f"dot: cannot multiply {format_shape(a.type.shape)} by "
                f"{format_shape(b.type.shape)}: inner lengths {ka} and {kb} differ."
            )
        )
    if a.type.ndim == 1 or b.type.ndim == 1 or (a.type.ndim == 2 and b.type.ndim == 2):
        # here matmul and dot agree (matmul's batch broadcasting never comes into play)
        return matmul(a, b)
    return _contract(a, b, (a.type.ndim - 1,), (b.type.ndim - 2,), "dot")


def _axis_list(op: str, axes: Any, ndim: int, shape: tuple) -> list[int]:
    items = axes if isinstance(axes, (tuple, list)) else (axes,)
    out = []
    for ax in items:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
            raise SymcTypeError(f"{op}: axes must be ints, got {axes!r}.")
        k = int(ax) + ndim if ax < 0 else int(ax)
        if not 0 <= k < ndim:
            raise SymcValueError(
                f"{op}: axis {ax} is out of range for an operand of shape {format_shape(shape)}."
            )
        if k in out:
            raise SymcValueError(f"{op}: axis {ax} is repeated in {axes!r}.")
        out.append(k)
    return out


def tensordot(a: Any, b: Any, axes: Any = 2) -> Node:
    """NumPy's ``tensordot``: sum products over ``axes`` of ``a`` and ``b``.

    ``axes`` is an int ``n`` (the last ``n`` axes of ``a`` with the first ``n``
    of ``b``) or a pair ``(axes_a, axes_b)`` of ints or equal-length sequences.
    The result's axes are ``a``'s free axes, then ``b``'s, in order.

    >>> sc.tensordot(T, M, axes=([1, 2], [0, 1]))
    """
    a, b = as_nodes(a, b)
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        n = int(axes)
        if n < 0 or n > a.type.ndim or n > b.type.ndim:
            raise _fail(
                SymcValueError(
                    f"tensordot: axes={n} needs 0 <= axes <= the dims of both operands, got "
                    f"{a.type.describe()} and {b.type.describe()}."
                )
            )
        ax_a, ax_b = list(range(a.type.ndim - n, a.type.ndim)), list(range(n))
    else:
        try:
            spec_a, spec_b = axes
        except (TypeError, ValueError):
            raise _fail(
                SymcTypeError(
                    f"tensordot: axes must be an int or a pair of axis lists, got {axes!r}."
                )
            ) from None
        try:
            ax_a = _axis_list("tensordot", spec_a, a.type.ndim, a.type.shape)
            ax_b = _axis_list("tensordot", spec_b, b.type.ndim, b.type.shape)
        except (SymcTypeError, SymcValueError) as err:
            raise _fail(err) from None
        if len(ax_a) != len(ax_b):
            raise _fail(
                SymcValueError(
                    f"tensordot: {len(ax_a)} axes of {format_shape(a.type.shape)} cannot pair "
                    f"with {len(ax_b)} axes of {format_shape(b.type.shape)} (axes={axes!r})."
                )
            )
    return _contract(a, b, tuple(ax_a), tuple(ax_b), "tensordot")


def _product(x: Node, axes: tuple[int, ...]) -> int | Node:
    """The product of ``x``'s lengths over ``axes``: an int when static, else a node."""
    total: int | Node = 1
    static = 1
    for ax in axes:
        d = x.type.shape[ax]
        if d is None:
            total = length(x, ax) if isinstance(total, int) else total * length(x, ax)
        else:
            static *= d
    if isinstance(total, int):
        return static
    return total * static if static != 1 else total


def _contract(a: Node, b: Node, ax_a: tuple, ax_b: tuple, op: str) -> Node:
    """Sum over the paired axes as one ``matmul`` of reshaped, transposed operands."""
    for i, j in zip(ax_a, ax_b, strict=True):
        da, db = a.type.shape[i], b.type.shape[j]
        if da is not None and db is not None and da != db:
            raise _fail(
                SymcShapeError(
                    f"{op}: cannot contract axis {i} of {format_shape(a.type.shape)} with axis "
                    f"{j} of {format_shape(b.type.shape)}: lengths {da} and {db} differ."
                )
            )
    free_a = tuple(i for i in range(a.type.ndim) if i not in ax_a)
    free_b = tuple(j for j in range(b.type.ndim) if j not in ax_b)
    a2 = reshape(transpose(a, free_a + ax_a), (_product(a, free_a), _product(a, ax_a)))
    b2 = reshape(transpose(b, ax_b + free_b), (_product(b, ax_b), _product(b, free_b)))
    out = matmul(a2, b2)
    lengths = [_static_or_node(a, i) for i in free_a] + [_static_or_node(b, j) for j in free_b]
    return reshape(out, tuple(lengths))


def _static_or_node(x: Node, axis: int) -> int | Node:
    d = x.type.shape[axis]
    return d if d is not None else length(x, axis)


def outer(a: Any, b: Any) -> Node:
    """NumPy's ``outer``: ``a.ravel()[:, None] * b.ravel()[None, :]``."""
    a, b = as_nodes(a, b)
    fa = a if a.type.ndim == 1 else reshape(a, (-1,))
    fb = b if b.type.ndim == 1 else reshape(b, (-1,))
    return m.multiply(expand_dims(fa, 1), expand_dims(fb, 0))
