"""Shape functions: lengths, reshape, transpose, expand_dims, squeeze, flatten,
concatenate, stack, broadcast_to."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .. import dtypes
from ..errors import SymcError
from ..graph.location import user_location, with_location
from ..graph.node import Node
from ..graph.types import format_shape, same_shape
from ..ops.alloc import ShapeI
from ..ops.leaves import Constant
from .convert import as_node, constant

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Append the user's file:line to a ``SymcError`` raised before any node is built.

    Errors from ``apply`` already carry it; this covers the checks an API
    function makes itself (bad axes, bad index entries).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SymcError as err:
            if getattr(err, "location", None) is not None:
                raise
            raise with_location(err, user_location(2)) from None

    return wrapper  # type: ignore[return-value]


def static_value(x: Node) -> np.ndarray | None:
    """The value of ``x`` if it is a constant, else None."""
    if isinstance(x.op, Constant):
        return x.op.value
    return None


def length(x: Any, axis: int) -> Node:
    """The length of ``axis`` as an int64 scalar node (a constant when known statically)."""
    x = as_node(x)
    axis = axis + x.type.ndim if axis < 0 else axis
    d = x.type.shape[axis]
    if d is not None:
        return constant(d, dtype="int64")
    return ShapeI(axis)(x)


def lengths(x: Any) -> list[Node]:
    """Every axis length of ``x`` as int64 scalar nodes."""
    x = as_node(x)
    return [length(x, a) for a in range(x.type.ndim)]


def _axes(op: str, axis, ndim: int, shape) -> tuple[int, ...]:
    from ..ops.reduce import normalize_axes

    return normalize_axes(op, axis, ndim, shape)


@user_errors
def transpose(x: Any, axes=None) -> Node:
    """Permute axes (reverse them when ``axes`` is None); a view, never a copy."""
    from ..errors import SymcValueError
    from ..ops.shape import dimshuffle

    x = as_node(x)
    n = x.type.ndim
    if axes is None:
        perm = tuple(reversed(range(n)))
    else:
        perm = tuple(int(a) + n if int(a) < 0 else int(a) for a in axes)
        if sorted(perm) != list(range(n)):
            raise SymcValueError(
                f"transpose: axes {tuple(axes)!r} are not a permutation of the {n} axes of "
                f"{x.type.describe()}."
            )
    return dimshuffle(x, perm)


@user_errors
def expand_dims(x: Any, axis) -> Node:
    """Insert length-1 axes at the positions ``axis`` (an int or a tuple) of the result."""
    from ..ops.shape import dimshuffle

    x = as_node(x)
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = x.type.ndim + len(items)
    new = set(_axes("expand_dims", tuple(items), out_ndim, None))
    src = iter(range(x.type.ndim))
    return dimshuffle(x, ["x" if k in new else next(src) for k in range(out_ndim)])


@user_errors
def squeeze(x: Any, axis=None) -> Node:
    """Drop length-1 axes (all statically length-1 axes when ``axis`` is None)."""
    from ..errors import SymcShapeError
    from ..ops.shape import dimshuffle

    x = as_node(x)
    if axis is None:
        drop = {a for a, d in enumerate(x.type.shape) if d == 1}
    else:
        drop = set(_axes("squeeze", axis, x.type.ndim, x.type.shape))
        for a in drop:
            if x.type.shape[a] not in (1, None):
                raise SymcShapeError(
                    f"squeeze: cannot drop axis {a} of {x.type.describe()}: its length is "
                    f"{x.type.shape[a]}, not 1."
                )
    return dimshuffle(x, [a for a in range(x.type.ndim) if a not in drop])


@user_errors
def reshape(x: Any, shape) -> Node:
    """NumPy's C-order reshape; lengths may be ints, one -1, or integer scalar nodes."""
    from ..errors import SymcValueError
    from ..ops.shape import Reshape

    x = as_node(x)
    if isinstance(shape, (int, np.integer, Node)):
        shape = (shape,)
    spec: list = []
    extra: list[Node] = []
    for s in shape:
        if isinstance(s, Node):
            v = static_value(s)
            if v is not None:
                spec.append(int(v))
            else:
                spec.append(None)
                extra.append(s)
        elif isinstance(s, (int, np.integer)) and not isinstance(s, bool):
            if s < -1:
                raise SymcValueError(f"reshape: invalid length {s} in {tuple(shape)!r}.")
            spec.append(int(s))
        else:
            raise SymcValueError(f"reshape: lengths must be ints or int scalars, got {s!r}.")
    if spec.count(-1) > 1:
        raise SymcValueError(f"reshape: at most one -1 is allowed, got {tuple(shape)!r}.")
    if tuple(spec) == x.type.shape and not extra:
        return x
    return Reshape(tuple(spec))(x, *extra)


@user_errors
def flatten(x: Any) -> Node:
    """A 1-d reshape of ``x``."""
    return reshape(x, (-1,))


def _as_list(op: str, xs: Any) -> list[Node]:
    from ..errors import SymcTypeError, SymcValueError

    if isinstance(xs, (Node, np.ndarray)) or not isinstance(xs, (list, tuple)):
        raise SymcTypeError(f"{op}: expects a list or tuple of arrays, got {xs!r}.")
    nodes = [as_node(x) for x in xs]
    if not nodes:
        raise SymcValueError(f"{op}: needs at least one array.")
    return nodes


def _listed(xs: list[Node]) -> str:
    return ", ".join(x.type.describe() for x in xs)


@user_errors
def concatenate(xs: Any, axis: int | None = 0) -> Node:
    """Join arrays along an existing ``axis`` (None: flatten them first), NumPy dtype promotion.

    Every other length must agree.

    >>> sc.concatenate([a, b], axis=1)
    """
    from ..errors import SymcShapeError
    from ..graph.node import apply
    from ..ops.shape import Concatenate

    nodes = _as_list("concatenate", xs)
    if axis is None:
        nodes, axis = [flatten(x) for x in nodes], 0
    if any(x.type.ndim == 0 for x in nodes):
        raise SymcShapeError(
            f"concatenate: zero-dimensional arrays cannot be concatenated (inputs: "
            f"{_listed(nodes)}); use sc.stack."
        )
    (axis,) = _axes("concatenate", axis, nodes[0].type.ndim, nodes[0].type.shape)
    if len(nodes) == 1:
        return nodes[0]
    return apply(Concatenate(axis), nodes)


@user_errors
def stack(xs: Any, axis: int = 0) -> Node:
    """Join arrays of one shape along a new ``axis``.

    >>> sc.stack([x, y])        # shape (2,) + x.shape
    """
    from ..errors import SymcShapeError

    nodes = _as_list("stack", xs)
    first = nodes[0].type.shape
    for x in nodes[1:]:
        s = x.type.shape
        if not same_shape(s, first):
            raise SymcShapeError(
                f"stack: all arrays must have the same shape, got {_listed(nodes)}."
            )
    (axis,) = _axes("stack", axis, len(first) + 1, None)
    return concatenate([expand_dims(x, axis) for x in nodes], axis=axis)


@user_errors
def broadcast_to(x: Any, shape: Any) -> Node:
    """``x`` broadcast to ``shape`` (ints or integer scalar nodes), NumPy's rule.

    The gradient sums back over the broadcast axes. Broadcasting is decided
    from static lengths: an axis of ``x`` whose length is unknown is assumed
    not to be 1.

    >>> sc.broadcast_to(v, (3, n))
    """
    from ..errors import SymcShapeError, SymcTypeError
    from .creation import full

    x = as_node(x)
    if isinstance(shape, (int, np.integer, Node)):
        shape = (shape,)
    target: list[int | None] = []
    for s in shape:
        if isinstance(s, Node):
            known = static_value(s) if s.type.ndim == 0 else None
            if s.type.ndim != 0 or not dtypes.is_int(s.type.dtype):
                raise SymcTypeError(
                    f"broadcast_to: lengths must be ints or integer scalars, got "
                    f"{s.type.describe()}."
                )
            target.append(None if known is None else int(known))
        elif isinstance(s, (int, np.integer)) and not isinstance(s, bool):
            target.append(int(s))
        else:
            raise SymcTypeError(
                f"broadcast_to: lengths must be ints or integer scalars, got {s!r}."
            )
    wanted = format_shape(tuple(target))
    if any(t is not None and t < 0 for t in target):
        raise SymcShapeError(f"broadcast_to: negative length in the target shape {wanted}.")
    lead = len(target) - x.type.ndim
    if lead < 0:
        raise SymcShapeError(
            f"broadcast_to: cannot broadcast {x.type.describe()} to {wanted}: it has more dims."
        )
    for a, d in enumerate(x.type.shape):
        t = target[lead + a]
        if d not in (1, None) and t is not None and d != t:
            raise SymcShapeError(
                f"broadcast_to: cannot broadcast {x.type.describe()} to {wanted}: axis {a} has "
                f"length {d}, not 1 or {t}."
            )
    if tuple(target) == x.type.shape and None not in target:
        return x
    return full(tuple(shape), x)
