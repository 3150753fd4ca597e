"""Reductions over a set of axes: sum, prod, max, min; and argmax/argmin."""

from __future__ import annotations

from functools import cache

import numpy as np

from .. import dtypes
from ..errors import SymcShapeError, SymcTypeError, SymcValueError
from ..graph.record import record
from ..graph.types import TensorType, format_shape
from .base import Op

_NUMPY = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min}


def normalize_axes(op: str, axis, ndim: int, shape=None) -> tuple[int, ...]:
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise SymcTypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}.")
        b = int(a) + ndim if a < 0 else int(a)
        if not 0 <= b < ndim:
            where = f"shape {format_shape(shape)}" if shape is not None else f"{ndim} dims"
            raise SymcValueError(f"{op}: axis {a} is out of range for an input of {where}.")
        if b in out:
            raise SymcValueError(f"{op}: axis {a} is repeated in {axis!r}.")
        out.append(b)
    return tuple(sorted(out))


def reduced_shape(shape: tuple, axes: tuple[int, ...], keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


@cache
def _result_dtype(kind: str, dtype: str) -> str:
    return np.asarray(_NUMPY[kind](np.zeros((1,), dtype))).dtype.name


@record
class Reduce(Op):
    """``kind`` (sum, prod, max, min) over ``axes`` (a sorted tuple), NumPy dtype rules."""

    kind: str
    axes: tuple[int, ...]
    keepdims: bool = False

    @property
    def name(self) -> str:
        return self.kind

    def label(self) -> str:
        keep = ", keepdims" if self.keepdims else ""
        return f"{self.kind}{{axes={self.axes}{keep}}}"

    def infer(self, x: TensorType) -> TensorType:
        if any(not 0 <= a < x.ndim for a in self.axes):
            raise SymcValueError(f"{self.kind}: axes {self.axes} out of range for {x.describe()}.")
        if self.kind in ("max", "min") and any(x.shape[a] == 0 for a in self.axes):
            raise SymcShapeError(
                f"{self.kind}: cannot reduce the empty axis of {x.describe()} (no identity)."
            )
        shape = reduced_shape(x.shape, self.axes, self.keepdims)
        return TensorType(_result_dtype(self.kind, x.dtype), shape)

    def impl(self, x: np.ndarray) -> np.ndarray:
        if self.kind in ("max", "min") and any(x.shape[a] == 0 for a in self.axes):
            raise SymcShapeError(
                f"{self.kind}: cannot reduce an empty axis of an array of shape {x.shape}."
            )
        return np.asarray(_NUMPY[self.kind](x, axis=self.axes, keepdims=self.keepdims))

    def pullback(self, inputs, out, g):
        from ..api import reduce as r

        (x,) = inputs
        if not dtypes.is_differentiable(x.type.dtype):
            return [None]
        return [r.reduce_pullback(self, x, out, g)]


@record
class ArgReduce(Op):
    """Index of the first max (``kind="argmax"``) or min along one axis (None: flattened)."""

    kind: str
    axis: int | None
    keepdims: bool = False

    @property
    def name(self) -> str:
        return self.kind

    def infer(self, x: TensorType) -> TensorType:
        if self.axis is None:
            if any(d == 0 for d in x.shape):
                raise SymcShapeError(f"{self.kind}: the input of {x.describe()} is empty.")
            shape = (1,) * x.ndim if self.keepdims else ()
        else:
            if not 0 <= self.axis < x.ndim:
                raise SymcValueError(
                    f"{self.kind}: axis {self.axis} out of range for {x.describe()}."
                )
            if x.shape[self.axis] == 0:
                raise SymcShapeError(f"{self.kind}: axis {self.axis} of {x.describe()} is empty.")
            shape = reduced_shape(x.shape, (self.axis,), self.keepdims)
        return TensorType("int64", shape)

    def impl(self, x: np.ndarray) -> np.ndarray:
        fn = np.argmax if self.kind == "argmax" else np.argmin
        if (x.size if self.axis is None else x.shape[self.axis]) == 0:
            where = "" if self.axis is None else f"axis {self.axis} of "
            raise SymcShapeError(f"{self.kind}: {where}the input of shape {x.shape} is empty.")
        return np.asarray(fn(x, axis=self.axis, keepdims=self.keepdims), dtype="int64")

    def pullback(self, inputs, out, g):
        return [None]
