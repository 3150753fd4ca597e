"""Shape functions: lengths, reshape, transpose, expand_dims, squeeze, concatenate, stack."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph.node import Node
from ..ops.alloc import ShapeI
from ..ops.leaves import Constant
from .convert import as_node, constant


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


def expand_dims(x: Any, axis) -> Node:
    """Insert length-1 axes at the positions ``axis`` (an int or a tuple) of the result."""
    from ..ops.shape import dimshuffle

    x = as_node(x)
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = x.type.ndim + len(items)
    new = set(_axes("expand_dims", tuple(items), out_ndim, None))
    src = iter(range(x.type.ndim))
    return dimshuffle(x, ["x" if k in new else next(src) for k in range(out_ndim)])


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


def flatten(x: Any) -> Node:
    """A 1-d reshape of ``x``."""
    return reshape(x, (-1,))
