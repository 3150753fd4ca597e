"""Operators and NumPy-like methods of graph values (``x + y``, ``M.T``, ``v[1:]``).

The methods defer to the API modules at call time, which keeps the graph
package free of import cycles.
"""

from __future__ import annotations

from typing import Any

_MATH = None


def _math():
    global _MATH
    if _MATH is None:
        from . import math

        _MATH = math
    return _MATH


class TensorOperators:
    """Mixin giving ``Node`` NumPy's operators, static attributes and common methods."""

    __slots__ = ()

    # static information
    @property
    def shape(self) -> tuple[int | None, ...]:
        """The static shape: a tuple with ``None`` for lengths unknown until call time."""
        return self.type.shape  # type: ignore[attr-defined]

    @property
    def ndim(self) -> int:
        return len(self.type.shape)  # type: ignore[attr-defined]

    @property
    def dtype(self) -> str:
        return self.type.dtype  # type: ignore[attr-defined]

    @property
    def size(self) -> int | None:
        n = 1
        for d in self.type.shape:  # type: ignore[attr-defined]
            if d is None:
                return None
            n *= d
        return n

    @property
    def T(self):
        from .shape import transpose

        return transpose(self)

    def __len__(self) -> int:
        d = self.type.shape[0] if self.type.shape else None  # type: ignore[attr-defined]
        if d is None:
            from ..errors import SymcTypeError

            raise SymcTypeError(f"len() of {self!r}: its first length is not known statically.")
        return d

    def __bool__(self) -> bool:
        from ..errors import SymcTypeError

        raise SymcTypeError(
            "A symbolic value has no truth value; use sc.where(...) or a comparison "
            "function instead of `if`/`and`/`or` on graph values."
        )

    def __iter__(self):
        from ..errors import SymcTypeError

        raise SymcTypeError("A symbolic value cannot be iterated; index it instead.")

    __array_priority__ = 1000  # numpy_array + node -> Node.__radd__

    def __array__(self, *args, **kwargs):
        from ..errors import SymcTypeError

        raise SymcTypeError(
            f"{self!r} is symbolic: compile it with sc.function(...) to get an array."
        )

    # arithmetic
    def __add__(self, o: Any):
        return _math().add(self, o)

    def __radd__(self, o: Any):
        return _math().add(o, self)

    def __sub__(self, o: Any):
        return _math().subtract(self, o)

    def __rsub__(self, o: Any):
        return _math().subtract(o, self)

    def __mul__(self, o: Any):
        return _math().multiply(self, o)

    def __rmul__(self, o: Any):
        return _math().multiply(o, self)

    def __truediv__(self, o: Any):
        return _math().true_divide(self, o)

    def __rtruediv__(self, o: Any):
        return _math().true_divide(o, self)

    def __floordiv__(self, o: Any):
        return _math().floor_divide(self, o)

    def __rfloordiv__(self, o: Any):
        return _math().floor_divide(o, self)

    def __mod__(self, o: Any):
        return _math().mod(self, o)

    def __rmod__(self, o: Any):
        return _math().mod(o, self)

    def __pow__(self, o: Any):
        return _math().power(self, o)

    def __rpow__(self, o: Any):
        return _math().power(o, self)

    def __neg__(self):
        return _math().negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _math().abs(self)

    def __matmul__(self, o: Any):
        from .linalg import matmul

        return matmul(self, o)

    def __rmatmul__(self, o: Any):
        from .linalg import matmul

        return matmul(o, self)

    # comparisons build graphs, as in NumPy
    def __lt__(self, o: Any):
        return _math().lt(self, o)

    def __le__(self, o: Any):
        return _math().le(self, o)

    def __gt__(self, o: Any):
        return _math().gt(self, o)

    def __ge__(self, o: Any):
        return _math().ge(self, o)

    def __eq__(self, o: Any):  # type: ignore[override]
        return _math().eq(self, o)

    def __ne__(self, o: Any):  # type: ignore[override]
        return _math().ne(self, o)

    def __and__(self, o: Any):
        return _math().bitwise_and(self, o)

    def __rand__(self, o: Any):
        return _math().bitwise_and(o, self)

    def __or__(self, o: Any):
        return _math().bitwise_or(self, o)

    def __ror__(self, o: Any):
        return _math().bitwise_or(o, self)

    def __xor__(self, o: Any):
        return _math().bitwise_xor(self, o)

    def __rxor__(self, o: Any):
        return _math().bitwise_xor(o, self)

    def __invert__(self):
        return _math().invert(self)

    # indexing
    def __getitem__(self, index: Any):
        from .index import getitem

        return getitem(self, index)

    # NumPy-like methods
    def sum(self, axis=None, keepdims: bool = False):
        from .reduce import sum as _sum

        return _sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims: bool = False):
        from .reduce import mean

        return mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims: bool = False):
        from .reduce import prod

        return prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims: bool = False):
        from .reduce import max as _max

        return _max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims: bool = False):
        from .reduce import min as _min

        return _min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims: bool = False):
        from .reduce import argmax

        return argmax(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        from .shape import reshape

        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return reshape(self, shape)

    def transpose(self, *axes):
        from .shape import transpose

        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return transpose(self, axes or None)

    def flatten(self):
        from .shape import reshape

        return reshape(self, (-1,))

    def astype(self, dtype):
        return _math().cast(self, dtype)

    def dot(self, o: Any):
        from .linalg import dot

        return dot(self, o)
