"""Ops that make arrays from lengths: ``Alloc`` (fill), ``ARange``, and ``ShapeI``."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import SymcShapeError, SymcTypeError, SymcValueError
from ..graph.record import record
from ..graph.types import TensorType
from .base import Op


@record
class Alloc(Op):
    """``Alloc(static_shape)(value, *lengths)``: ``value`` broadcast to the given lengths.

    ``value`` may have fewer dimensions (NumPy's ``broadcast_to`` rule).
    ``static_shape`` holds the lengths known when the graph is built (``None``
    for symbolic ones), so ``zeros((3, n))`` has static shape ``(3, ?)``.
    """

    static_shape: tuple

    def label(self) -> str:
        return "alloc"

    def infer(self, value: TensorType, *lengths: TensorType) -> TensorType:
        for t in lengths:
            if t.ndim != 0 or not dtypes.is_int(t.dtype):
                raise SymcTypeError(f"alloc: lengths must be integer scalars, got {t.describe()}.")
        if len(lengths) != len(self.static_shape) or value.ndim > len(lengths):
            raise SymcShapeError(
                f"alloc: cannot broadcast a value of {value.describe()} to {len(lengths)} dims."
            )
        vshape = (1,) * (len(lengths) - value.ndim) + value.shape
        for axis, (v, s) in enumerate(zip(vshape, self.static_shape, strict=True)):
            if v not in (1, None) and s is not None and v != s:
                raise SymcShapeError(
                    f"alloc: cannot broadcast a value of {value.describe()} to length {s} "
                    f"on axis {axis}."
                )
        return TensorType(value.dtype, tuple(self.static_shape))

    def impl(self, value: np.ndarray, *lengths: np.ndarray) -> np.ndarray:
        shape = tuple(int(n) for n in lengths)
        if any(n < 0 for n in shape):
            raise SymcValueError(f"alloc: negative length in {shape}.")
        try:
            return np.array(np.broadcast_to(value, shape))
        except ValueError:
            raise SymcShapeError(
                f"alloc: cannot broadcast shape {value.shape} to {shape}."
            ) from None

    def pullback(self, inputs, out, g):
        from ..api.reduce import sum_to

        return [sum_to(g, inputs[0]), *([None] * (len(inputs) - 1))]


@record
class ARange(Op):
    """``ARange(dtype)(start, stop, step)``: NumPy's ``arange``."""

    dtype: str
    length: int | None = None  # known when start, stop and step are constants

    def label(self) -> str:
        return f"arange{{{self.dtype}}}"

    def infer(self, start: TensorType, stop: TensorType, step: TensorType) -> TensorType:
        for t in (start, stop, step):
            if t.ndim != 0:
                raise SymcShapeError(
                    f"arange: start/stop/step must be scalars, got {t.describe()}."
                )
        return TensorType(self.dtype, (self.length,))

    def impl(self, start, stop, step) -> np.ndarray:
        if step == 0:
            raise SymcValueError("arange: step must not be zero.")
        return np.arange(start, stop, step, dtype=self.dtype)

    def pullback(self, inputs, out, g):
        return [None, None, None]


@record
class ShapeI(Op):
    """The length of axis ``axis`` of its input, as an int64 scalar."""

    axis: int

    def label(self) -> str:
        return f"shape[{self.axis}]"

    def infer(self, x: TensorType) -> TensorType:
        if not 0 <= self.axis < x.ndim:
            raise SymcValueError(f"shape: axis {self.axis} out of range for {x.describe()}.")
        return TensorType("int64", ())

    def impl(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x.shape[self.axis], dtype="int64")

    def pullback(self, inputs, out, g):
        return [None]
