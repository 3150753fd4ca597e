"""Making graph values: symbolic inputs, shared variables, and filled arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..errors import SymcShapeError, SymcTypeError
from ..graph.node import Node, leaf, new_uid
from ..graph.types import TensorType, format_shape
from ..ops.alloc import Alloc, ARange
from ..ops.leaves import Input, Shared, SharedContainer
from .convert import as_node, constant


def tensor(name: str | None = None, shape: Sequence[int | None] = (), dtype: Any = None) -> Node:
    """A symbolic input of the given static ``shape`` (``None`` = unknown length).

    >>> T = sc.tensor("T", shape=(None, 3, None), dtype="float64")
    """
    shape = tuple(None if d is None else int(d) for d in shape)
    if any(d is not None and d < 0 for d in shape):
        raise SymcShapeError(f"tensor {name!r}: negative length in shape {format_shape(shape)}.")
    if name is not None and not isinstance(name, str):
        raise SymcTypeError(f"tensor: name must be a string, got {name!r}.")
    return leaf(Input(new_uid()), TensorType(dtypes.canonical(dtype), shape), name=name)


def scalar(name: str | None = None, dtype: Any = None) -> Node:
    """A 0-d symbolic input (dtype defaults to ``config.floatX``)."""
    return tensor(name, (), dtype)


def vector(name: str | None = None, dtype: Any = None, length: int | None = None) -> Node:
    """A 1-d symbolic input of unknown (or given) length."""
    return tensor(name, (length,), dtype)


def matrix(name: str | None = None, dtype: Any = None, shape=(None, None)) -> Node:
    """A 2-d symbolic input of unknown (or given) lengths."""
    return tensor(name, shape, dtype)


def iscalar(name: str | None = None) -> Node:
    """An int64 scalar input."""
    return tensor(name, (), "int64")


def ivector(name: str | None = None) -> Node:
    """An int64 vector input."""
    return tensor(name, (None,), "int64")


def imatrix(name: str | None = None) -> Node:
    """An int64 matrix input."""
    return tensor(name, (None, None), "int64")


class SharedVariable(Node):
    """A graph leaf whose value persists between calls; read and write it from Python.

    >>> w = sc.shared(np.zeros(10), name="w"); w.set_value(np.ones(10))
    """

    __slots__ = ()

    @property
    def container(self) -> SharedContainer:
        return self.op.container  # type: ignore[attr-defined]

    def get_value(self, borrow: bool = False) -> np.ndarray:
        """The current value (a copy unless ``borrow``)."""
        v = self.container.value
        return v if borrow else v.copy()

    def set_value(self, value: Any, borrow: bool = False) -> None:
        """Replace the value; its dtype must cast ("same_kind") and its shape must fit."""
        self.container.value = _checked_value(self, value, copy=not borrow)


def _checked_value(var: Node, value: Any, copy: bool = True) -> np.ndarray:
    from ..graph.location import user_location, with_location

    label = f"shared variable {var.name!r}" if var.name else "a shared variable"
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise with_location(
            SymcTypeError(f"{label}: cannot make an array of {value!r} ({err})."),
            user_location(),
            verb="called at",
        ) from None
    t = var.type
    if arr.dtype.kind not in "biuf" or not dtypes.can_cast(arr.dtype.name, t.dtype):
        raise with_location(
            SymcTypeError(
                f"{label}: cannot store a {arr.dtype.name} value in its {t.dtype} type "
                f"(NumPy's same_kind rule)."
            ),
            user_location(),
            verb="called at",
        )
    if arr.ndim != t.ndim or any(
        s is not None and s != a for s, a in zip(t.shape, arr.shape, strict=True)
    ):
        raise with_location(
            SymcShapeError(
                f"{label}: a value of shape {arr.shape} does not fit its type {t.describe()}."
            ),
            user_location(),
            verb="called at",
        )
    return np.array(arr, dtype=t.dtype, copy=True) if copy else arr.astype(t.dtype, copy=False)


def shared(value: Any, name: str | None = None, dtype: Any = None, shape=None) -> SharedVariable:
    """A shared variable initialised with a copy of ``value``.

    Its static shape keeps length-1 axes (so a ``(1, n)`` bias broadcasts) and
    leaves other lengths unknown, since ``set_value`` may change them; pass
    ``shape`` to fix it.
    """
    arr = np.array(value, dtype=None if dtype is None else dtypes.canonical(dtype))
    if dtype is None and type(value) is float:  # a Python float is floatX; np.float64 is not
        arr = arr.astype(dtypes.config.floatX)
    dt = dtypes.canonical(arr.dtype)
    if shape is None:
        shape = tuple(1 if d == 1 else None for d in arr.shape)
    node = SharedVariable(
        Shared(SharedContainer(arr.astype(dt))),
        (),
        TensorType(dt, tuple(shape)),
        name=name,
    )
    from ..graph.location import user_location

    node.loc = user_location(2)
    node.container.value = _checked_value(node, arr)
    return node


def _length_node(n: Any) -> tuple[Node, int | None]:
    if isinstance(n, Node):
        if n.type.ndim != 0 or not dtypes.is_int(n.type.dtype):
            raise SymcTypeError(f"array length must be an integer scalar, got {n.type.describe()}.")
        from .shape import static_value

        known = static_value(n)
        return n, None if known is None else int(known)
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        if n < 0:
            raise SymcShapeError(f"negative array length {n}.")
        return constant(int(n), dtype="int64"), int(n)
    raise SymcTypeError(f"array length must be an integer, got {n!r}.")


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Node:
    """An array of ``shape`` (ints or integer scalar nodes) filled with ``fill_value``."""
    if isinstance(shape, (int, np.integer, Node)):
        shape = (shape,)
    pairs = [_length_node(n) for n in shape]
    if isinstance(fill_value, Node):
        from .math import cast

        value = fill_value if dtype is None else cast(fill_value, dtype)
    else:
        value = as_node(fill_value) if dtype is None else constant(fill_value, dtype=dtype)
    op = Alloc(tuple(s for _, s in pairs))
    return op(value, *(n for n, _ in pairs))


def zeros(shape: Any, dtype: Any = None) -> Node:
    """Zeros of ``shape`` (dtype defaults to floatX)."""
    return full(shape, 0, dtypes.canonical(dtype))


def ones(shape: Any, dtype: Any = None) -> Node:
    """Ones of ``shape`` (dtype defaults to floatX)."""
    return full(shape, 1, dtypes.canonical(dtype))


def zeros_like(x: Any, dtype: Any = None) -> Node:
    """Zeros with ``x``'s shape and (by default) dtype."""
    from .shape import lengths

    x = as_node(x)
    return full(lengths(x), 0, dtype or x.type.dtype)


def ones_like(x: Any, dtype: Any = None) -> Node:
    """Ones with ``x``'s shape and (by default) dtype."""
    from .shape import lengths

    x = as_node(x)
    return full(lengths(x), 1, dtype or x.type.dtype)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Node:
    """NumPy's ``arange``; the bounds may be symbolic scalars."""
    from .shape import static_value

    if stop is None:
        start, stop = 0, start
    parts = [start, stop, step]
    if dtype is None:
        vals = [p for p in parts if not isinstance(p, Node)]
        nodes = [p.type.dtype for p in parts if isinstance(p, Node)]
        dtype = dtypes.result(*(np.asarray(v).dtype.name for v in vals), *nodes)
    dtype = dtypes.canonical(dtype)
    nodes = [as_node(p) if isinstance(p, Node) else constant(p, dtype=dtype) for p in parts]
    known = [static_value(n) for n in nodes]
    length = None
    if all(k is not None for k in known):
        if known[2] == 0:
            from ..errors import SymcValueError

            raise SymcValueError("arange: step must not be zero.")
        length = len(np.arange(*known, dtype=dtype))
    return ARange(dtype, length)(*nodes)
