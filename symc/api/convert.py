"""Turning Python and NumPy values into graph constants.

Python scalars are *weak* (NumPy's NEP 50 rule): in ``x32 * 2.0`` the constant
takes ``x32``'s dtype, so float32 graphs stay float32. NumPy arrays and NumPy
scalars keep their own dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..errors import SymcTypeError
from ..graph.node import Node, leaf
from ..graph.types import TensorType
from ..ops.leaves import Constant


def constant(value: Any, dtype: str | None = None, name: str | None = None) -> Node:
    """A constant node holding ``value`` (copied, read-only); equal constants are one node.

    >>> c = sc.constant(np.arange(3.0))
    """
    if isinstance(value, Node):
        raise SymcTypeError(f"constant: {value!r} is already symbolic.")
    try:
        arr = np.array(value, dtype=None if dtype is None else dtypes.canonical(dtype))
    except (TypeError, ValueError) as err:
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
    """The dtype a Python scalar takes next to an operand of dtype ``partner``."""
    if isinstance(value, bool):
        return partner
    if isinstance(value, int):
        return partner if partner != "bool" else "int64"
    # a float
    return partner if dtypes.is_float(partner) else dtypes.config.floatX


def as_node(x: Any, like: Node | None = None) -> Node:
    """``x`` as a node; a Python scalar takes ``like``'s dtype when it is given."""
    if isinstance(x, Node):
        return x
    if like is not None and _is_python_scalar(x):
        return constant(x, dtype=weak_dtype(x, like.type.dtype))
    if _is_python_scalar(x):
        if isinstance(x, bool):
            return constant(x, dtype="bool")
        if isinstance(x, int):
            return constant(x, dtype="int64")
        return constant(x, dtype=dtypes.config.floatX)
    return constant(x)


def as_nodes(*xs: Any) -> list[Node]:
    """Operands of one operation: Python scalars are weak next to the first node among them."""
    like = next((x for x in xs if isinstance(x, Node)), None)
    return [as_node(x, like) for x in xs]
