"""Turning Python and NumPy values into graph constants.

Python scalars are *weak* (NumPy's NEP 50 rule): in ``x32 * 2.0`` the constant
takes ``x32``'s dtype, so float32 graphs stay float32. NumPy arrays and NumPy
scalars keep their own dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..errors import SymcTypeError, SymcValueError
from ..graph.node import Node, leaf
from ..graph.types import TensorType
from ..ops.leaves import Constant

_SCALARS: dict = {}


def constant(value: Any, dtype: str | None = None, name: str | None = None) -> Node:
    """A constant node holding ``value`` (copied, read-only); equal constants are one node.

    >>> c = sc.constant(np.arange(3.0))
    """
    if isinstance(value, Node):
        raise SymcTypeError(f"constant: {value!r} is already symbolic.")
    if name is None and value.__class__ in (int, float, bool) and dtype.__class__ is str:
        # (type, value) tells 1 from 1.0 from True; repr tells 0.0 from -0.0 and NaNs apart
        key = (value.__class__, repr(value), dtype)
        node = _SCALARS.get(key)
        if node is None:
            if len(_SCALARS) > 4096:
                _SCALARS.clear()
            node = _SCALARS[key] = constant(np.asarray(value), dtype)
        return node
    try:
        arr = np.array(value, dtype=None if dtype is None else dtypes.canonical(dtype))
    except (TypeError, ValueError, OverflowError) as err:
        raise SymcTypeError(f"constant: cannot make an array of {value!r} ({err}).") from None
    if arr.dtype == object:
        raise SymcTypeError(f"constant: {value!r} is not numeric.")
    if dtype is None and isinstance(value, float) and not isinstance(value, np.floating):
        arr = arr.astype(dtypes.config.floatX)
    name_dt = dtypes.canonical(arr.dtype)
    arr = np.array(arr, dtype=name_dt, order="C")
    arr.flags.writeable = False
    key = ("const", name_dt, arr.shape, arr.tobytes()) if name is None else None
    return leaf(Constant(arr), TensorType(name_dt, arr.shape), name=name, intern_key=key)


def _is_python_scalar(x: Any) -> bool:
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def weak_dtype(value: bool | int | float, partner: str) -> str:
    """The dtype a Python scalar takes next to operands promoting to ``partner`` (NEP 50).

    A Python scalar never widens its partner: ``bool`` takes any dtype,
    ``int`` takes any numeric dtype (``bool`` partners give int64), ``float``
    takes floating dtypes (integer or bool partners give ``config.floatX``).
    """
    if isinstance(value, bool):
        return partner
    if isinstance(value, int):
        return partner if partner != "bool" else "int64"
    return partner if dtypes.is_float(partner) else dtypes.config.floatX


_COMPARISONS = frozenset({"lt", "le", "gt", "ge", "eq", "ne"})


def _weak_constant(x: bool | int | float, partner: str, op: str | None) -> Node:
    dt = weak_dtype(x, partner)
    if dtypes.is_int(dt) and not isinstance(x, bool):
        info = np.iinfo(dt)
        if not info.min <= x <= info.max:
            if op in _COMPARISONS:
                # NumPy compares out-of-range Python ints exactly: so does a wider constant
                return as_node(x)
            from ..graph.location import user_location, with_location

            where = f"{op}: " if op else ""
            err = SymcValueError(
                f"{where}the Python integer {x} is out of bounds for the {dt} operand it is "
                f"combined with ({info.min}..{info.max}); make it an array of a wider dtype."
            )
            raise with_location(err, user_location()) from None
    return constant(x, dtype=dt)


def as_node(x: Any, like: Node | None = None) -> Node:
    """``x`` as a node; a Python scalar takes ``like``'s dtype when it is given (weakly)."""
    if isinstance(x, Node):
        return x
    if like is not None and _is_python_scalar(x):
        return _weak_constant(x, like.type.dtype, None)
    if _is_python_scalar(x):
        if isinstance(x, bool):
            return constant(x, dtype="bool")
        if isinstance(x, int):
            return constant(x, dtype="int64")
        return constant(x, dtype=dtypes.config.floatX)
    return constant(x)


def as_nodes(*xs: Any, op: str | None = None) -> list[Node]:
    """Operands of one operation, with NumPy's (NEP 50) rule for Python scalars.

    Nodes, NumPy arrays and NumPy scalars are *strong*: their dtypes promote.
    Python scalars are *weak*: they take the promoted dtype of the strong
    operands (see :func:`weak_dtype`), so ``x32 * 2.0`` stays float32 while
    ``x32 * np.float64(2.0)`` is float64. ``op`` names the operation in errors.
    """
    strong = [as_node(x) for x in xs if not _is_python_scalar(x)]
    if not strong:
        return [as_node(x) for x in xs]
    partner = dtypes.result(*(n.type.dtype for n in strong))
    it = iter(strong)
    return [_weak_constant(x, partner, op) if _is_python_scalar(x) else next(it) for x in xs]
