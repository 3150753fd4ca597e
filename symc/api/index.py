"""Indexing: ``x[...]`` (``getitem``) and ``take``.

Supported: NumPy basic indexing (ints, negative ints, slices with any step,
``None``/``np.newaxis``, ``Ellipsis``, integer scalar nodes as indices or
slice bounds) plus at most one integer-array index (a node, a NumPy array or
a list of ints), done as basic indexing followed by a ``take``. Boolean masks
and several index arrays are not supported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..errors import SymcIndexError, SymcTypeError
from ..graph.node import Node, apply
from ..ops.index import FULL, SYM, Subtensor, Take, check_take_bounds
from ..ops.reduce import normalize_axes
from .convert import as_node, constant
from .shape import flatten, static_value, user_errors

_SUPPORTED = (
    "supported indices are ints, slices, None, Ellipsis, integer scalar nodes, and one "
    "integer array (a node, a NumPy array or a list of ints)"
)


def _scalar_part(x: Node, part: Any, what: str) -> int | Node | None:
    """A slice bound or step: None, an int, or an integer scalar node (constants inlined)."""
    if part is None:
        return None
    if isinstance(part, Node):
        if part.type.ndim != 0 or not dtypes.is_int(part.type.dtype):
            raise SymcTypeError(
                f"getitem: a slice {what} must be an integer scalar, got {part.type.describe()} "
                f"(indexing {x.type.describe()})."
            )
        known = static_value(part)
        return part if known is None else int(known)
    if isinstance(part, (int, np.integer)) and not isinstance(part, (bool, np.bool_)):
        return int(part)
    raise SymcTypeError(
        f"getitem: a slice {what} must be an integer or None, got {part!r} "
        f"(indexing {x.type.describe()})."
    )


def _array_entry(x: Node, arr: np.ndarray, given: Any) -> tuple:
    if arr.dtype == object:
        raise SymcTypeError(
            f"getitem: cannot index {x.type.describe()} with {given!r}; {_SUPPORTED}."
        )
    if arr.dtype.kind == "b":
        raise SymcIndexError(
            f"getitem: boolean mask indices are not supported (indexing {x.type.describe()}); "
            f"{_SUPPORTED}."
        )
    if arr.dtype.kind not in "iu":
        raise SymcTypeError(
            f"getitem: indices must be integers, got {arr.dtype} {given!r} "
            f"(indexing {x.type.describe()})."
        )
    if arr.ndim == 0:
        return ("int", int(arr))
    return ("array", constant(arr.astype("int64")))


def _classify(x: Node, item: Any) -> tuple:
    """One entry of the user's index as ``(kind, ...)``; constants are made Python ints."""
    if item is None:
        return ("new",)
    if item is Ellipsis:
        return ("ellipsis",)
    if isinstance(item, slice):
        return (
            "slice",
            _scalar_part(x, item.start, "start"),
            _scalar_part(x, item.stop, "stop"),
            _scalar_part(x, item.step, "step"),
        )
    if isinstance(item, (bool, np.bool_)):
        raise SymcIndexError(
            f"getitem: boolean indices are not supported (indexing {x.type.describe()}); "
            f"{_SUPPORTED}."
        )
    if isinstance(item, (int, np.integer)):
        return ("int", int(item))
    if isinstance(item, Node):
        t = item.type
        if dtypes.is_bool(t.dtype):
            raise SymcIndexError(
                f"getitem: boolean mask indices ({t.describe()}) are not supported (indexing "
                f"{x.type.describe()}); {_SUPPORTED}."
            )
        if not dtypes.is_int(t.dtype):
            raise SymcTypeError(
                f"getitem: indices must be integers, got {t.describe()} (indexing "
                f"{x.type.describe()})."
            )
        if t.ndim == 0:
            known = static_value(item)
            return ("int", item if known is None else int(known))
        return ("array", item)
    if isinstance(item, (list, np.ndarray)):
        arr = np.asarray(item)
        if isinstance(item, list) and arr.size == 0:
            arr = arr.astype("int64")
        return _array_entry(x, arr, item)
    if isinstance(item, (float, np.floating)):
        raise SymcTypeError(
            f"getitem: indices must be integers, got the float {item!r} (indexing "
            f"{x.type.describe()})."
        )
    raise SymcTypeError(f"getitem: cannot index {x.type.describe()} with {item!r}; {_SUPPORTED}.")


def _expand(x: Node, entries: list[tuple]) -> list[tuple]:
    """``entries`` with the Ellipsis (or the implicit trailing one) replaced by full slices."""
    n_ellipsis = sum(1 for e in entries if e[0] == "ellipsis")
    n_arrays = sum(1 for e in entries if e[0] == "array")
    consumed = sum(1 for e in entries if e[0] in ("int", "slice", "array"))
    if n_ellipsis > 1:
        raise SymcIndexError(
            f"getitem: an index can only have a single Ellipsis (indexing {x.type.describe()})."
        )
    if n_arrays > 1:
        raise SymcIndexError(
            f"getitem: only one integer-array index is supported, got {n_arrays} (indexing "
            f"{x.type.describe()}); index one axis at a time, e.g. with sc.take."
        )
    if consumed > x.type.ndim:
        raise SymcIndexError(
            f"getitem: too many indices for a value of {x.type.describe()}: {consumed} "
            f"axes indexed, but it has {x.type.ndim}."
        )
    fill = [FULL] * (x.type.ndim - consumed)
    if n_ellipsis:
        k = next(i for i, e in enumerate(entries) if e[0] == "ellipsis")
        return entries[:k] + fill + entries[k + 1 :]
    return entries + fill


def _static_items(entries: list[tuple]) -> tuple[tuple, list[Node]]:
    """Subtensor items (nodes replaced by ``SYM``) and the symbolic parts in order."""
    items, syms = [], []
    for e in entries:
        if e[0] == "array":
            items.append(FULL)
            continue
        parts = []
        for p in e[1:]:
            if isinstance(p, Node):
                syms.append(p)
                parts.append(SYM)
            else:
                parts.append(p)
        items.append((e[0], *parts))
    return tuple(items), syms


def _is_identity(items: tuple) -> bool:
    return all(
        it[0] == "slice" and it[1] is None and it[2] is None and it[3] in (None, 1) for it in items
    )


@user_errors
def getitem(x: Any, index: Any) -> Node:
    """``x[index]``: NumPy basic indexing plus at most one integer-array index.

    >>> v[1:], M[0, ::2], v[i], v[i:j], M[idx, 1:], T[..., None]
    """
    x = as_node(x)
    raw = index if isinstance(index, tuple) else (index,)
    given = [_classify(x, it) for it in raw]
    entries = _expand(x, given)
    items, syms = _static_items(entries)
    out = x if _is_identity(items) else apply(Subtensor(items), (x, *syms))
    arrays = [k for k, e in enumerate(entries) if e[0] == "array"]
    if not arrays:
        return out
    (k,) = arrays
    axis = sum(1 for e in entries[:k] if e[0] != "int")
    idx = entries[k][1]
    out = _take(out, idx, axis)
    # NumPy puts the array's axes first when ints (also advanced indices next to
    # an array) are separated from it by a slice, None or an Ellipsis (even one
    # standing for no axes)
    advanced = [j for j, e in enumerate(given) if e[0] in ("int", "array")]
    if advanced != list(range(advanced[0], advanced[-1] + 1)) and axis > 0:
        from ..ops.shape import dimshuffle

        span = list(range(axis, axis + idx.type.ndim))
        rest = [a for a in range(out.type.ndim) if a not in span]
        out = dimshuffle(out, span + rest)
    return out


def _take(x: Node, idx: Node, axis: int) -> Node:
    known = static_value(idx)
    n = x.type.shape[axis]
    if known is not None and n is not None:
        check_take_bounds("take", known, axis, x.type.shape)
    return apply(Take(axis), (x, idx))


def _indices_node(x: Node, indices: Any) -> Node:
    if isinstance(indices, Node):
        if dtypes.is_bool(indices.type.dtype):
            raise SymcIndexError(
                f"take: boolean mask indices ({indices.type.describe()}) are not supported."
            )
        if not dtypes.is_int(indices.type.dtype):
            raise SymcTypeError(f"take: indices must be integers, got {indices.type.describe()}.")
        return indices
    arr = np.asarray(indices)
    if isinstance(indices, list) and arr.size == 0:
        arr = arr.astype("int64")
    if arr.dtype.kind == "b":
        raise SymcIndexError("take: boolean mask indices are not supported.")
    if arr.dtype.kind not in "iu":
        raise SymcTypeError(f"take: indices must be integers, got {arr.dtype} {indices!r}.")
    return constant(arr.astype("int64"))


@user_errors
def take(x: Any, indices: Any, axis: int | None = None) -> Node:
    """NumPy's ``take``: entries of ``x`` at integer ``indices`` along ``axis``.

    ``axis=None`` takes from the flattened ``x``. The result has shape
    ``x.shape[:axis] + indices.shape + x.shape[axis+1:]``; negative indices count
    from the end; repeated indices are allowed (their gradients add up).

    >>> sc.take(M, [2, 0, 2], axis=1)
    """
    x = as_node(x)
    idx = _indices_node(x, indices)
    if axis is None:
        x, axis = flatten(x), 0
    (axis,) = normalize_axes("take", axis, x.type.ndim, x.type.shape)
    return _take(x, idx, axis)
