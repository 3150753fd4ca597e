"""Reductions (``sum``, ``mean``, ``max``, ...) and ``sum_to``, which undoes broadcasting."""

from __future__ import annotations

from typing import Any

from .. import dtypes
from ..errors import SymcError, SymcTypeError
from ..graph.location import user_location, with_location
from ..graph.node import Node, apply
from ..ops.reduce import ArgReduce, Reduce, normalize_axes
from . import math as m
from .convert import as_node, constant
from .creation import full
from .shape import length, lengths


def _axes(kind: str, axis, x: Node) -> tuple[int, ...]:
    """``normalize_axes``, with the user's file:line on its error (no ``apply`` adds it)."""
    try:
        return normalize_axes(kind, axis, x.type.ndim, x.type.shape)
    except SymcError as err:
        raise with_location(err, user_location()) from None


def _reduce(kind: str, x: Any, axis, keepdims: bool) -> Node:
    x = as_node(x)
    axes = _axes(kind, axis, x)
    return apply(Reduce(kind, axes, bool(keepdims)), (x,))


def sum(x: Any, axis=None, keepdims: bool = False) -> Node:  # noqa: A001
    """Sum over ``axis`` (None: all; an int or a tuple), NumPy's dtype rules."""
    return _reduce("sum", x, axis, keepdims)


def prod(x: Any, axis=None, keepdims: bool = False) -> Node:
    """Product over ``axis``."""
    return _reduce("prod", x, axis, keepdims)


def max(x: Any, axis=None, keepdims: bool = False) -> Node:  # noqa: A001
    """Maximum over ``axis``; on ties the gradient is shared equally."""
    return _reduce("max", x, axis, keepdims)


def min(x: Any, axis=None, keepdims: bool = False) -> Node:  # noqa: A001
    """Minimum over ``axis``; on ties the gradient is shared equally."""
    return _reduce("min", x, axis, keepdims)


def _count(x: Node, axes: tuple[int, ...], dtype: str) -> Node:
    static = [x.type.shape[a] for a in axes]
    if all(d is not None for d in static):
        n = 1
        for d in static:
            n *= d
        return constant(n, dtype=dtype)
    total = None
    for a in axes:
        la = length(x, a)
        total = la if total is None else total * la
    return m.cast(total, dtype) if total is not None else constant(1, dtype=dtype)


def mean(x: Any, axis=None, keepdims: bool = False) -> Node:
    """Arithmetic mean over ``axis`` (integers give floatX)."""
    x = as_node(x)
    axes = _axes("mean", axis, x)
    out_dt = dtypes.as_float(x.type.dtype)
    s = sum(m.cast(x, out_dt) if x.type.dtype != out_dt else x, axes, keepdims)
    return s / _count(x, axes, out_dt)


def var(x: Any, axis=None, keepdims: bool = False, ddof: int = 0) -> Node:
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom (integers give floatX)."""
    x = as_node(x)
    return _var(x, _axes("var", axis, x), keepdims, ddof)


def std(x: Any, axis=None, keepdims: bool = False, ddof: int = 0) -> Node:
    """Standard deviation over ``axis`` (integers give floatX)."""
    x = as_node(x)
    return m.sqrt(_var(x, _axes("std", axis, x), keepdims, ddof))


def _var(x: Node, axes: tuple[int, ...], keepdims: bool, ddof: int) -> Node:
    out_dt = dtypes.as_float(x.type.dtype)
    xf = m.cast(x, out_dt)
    # two passes, as NumPy: subtracting the mean first keeps the sum of squares accurate
    centered = xf - mean(xf, axes, keepdims=True)
    ss = sum(centered * centered, axes, keepdims)
    n = _count(x, axes, out_dt)
    return ss / (n - ddof) if ddof else ss / n


def _arg(kind: str, x: Any, axis, keepdims: bool) -> Node:
    x = as_node(x)
    if axis is not None:
        if isinstance(axis, (tuple, list)):
            raise with_location(
                SymcTypeError(f"{kind}: axis must be None or one int, got {axis!r}."),
                user_location(),
            )
        (axis,) = _axes(kind, axis, x)
    return apply(ArgReduce(kind, axis, bool(keepdims)), (x,))


def argmax(x: Any, axis=None, keepdims: bool = False) -> Node:
    """Index of the first maximum along ``axis`` (None: of the flattened array)."""
    return _arg("argmax", x, axis, keepdims)


def argmin(x: Any, axis=None, keepdims: bool = False) -> Node:
    """Index of the first minimum along ``axis``."""
    return _arg("argmin", x, axis, keepdims)


def expand_reduced(g: Node, axes: tuple[int, ...], keepdims: bool) -> Node:
    """``g`` with the reduced axes put back as length-1 axes."""
    if keepdims or not axes:
        return g
    from .shape import expand_dims

    return expand_dims(g, axes)


def broadcast_to_like(g: Node, x: Node) -> Node:
    """``g`` broadcast to ``x``'s shape (static where known, symbolic otherwise)."""
    if g.type.shape == x.type.shape and None not in x.type.shape:
        return g
    return full(lengths(x), g)


def sum_to(g: Node, x: Node) -> Node:
    """Sum ``g`` over the axes broadcasting added for ``x``, then cast to ``x``'s dtype.

    This is the adjoint of broadcasting: the gradient w.r.t. an operand that was
    broadcast is the sum of the gradient over the broadcast axes.
    """
    lead = g.type.ndim - x.type.ndim
    if lead:
        g = sum(g, tuple(range(lead)))
    axes = tuple(
        a
        for a, (dx, dg) in enumerate(zip(x.type.shape, g.type.shape, strict=True))
        if dx == 1 and dg != 1
    )
    if axes:
        g = sum(g, axes, keepdims=True)
    if g.type.dtype != x.type.dtype:
        g = m.cast(g, x.type.dtype)
    return g


def reduce_pullback(op: Reduce, x: Node, out: Node, g: Node) -> Node:
    """The gradient of a Reduce w.r.t. its input (see the docs for max ties)."""
    axes, keep = op.axes, op.keepdims
    g_k = expand_reduced(g, axes, keep)
    if op.kind == "sum":
        return broadcast_to_like(g_k, x)
    out_k = expand_reduced(out, axes, keep)
    if op.kind in ("max", "min"):
        hit = m.cast(m.eq(x, out_k), x.type.dtype)
        count = sum(hit, axes, keepdims=True)
        return g_k * hit / count
    # prod: the product of the other entries, exact when some entries are zero
    zero = m.eq(x, 0)
    nonzero = m.where(zero, constant(1, dtype=x.type.dtype), x)
    p_nz = prod(nonzero, axes, keepdims=True)
    n_zero = sum(m.cast(zero, "int64"), axes, keepdims=True)
    others = m.where(
        m.eq(n_zero, 0),
        p_nz / nonzero,
        m.where(m.logical_and(m.eq(n_zero, 1), zero), p_nz, 0),
    )
    return g_k * others
