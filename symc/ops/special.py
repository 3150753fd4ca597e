"""The softmax family: ``LogSumExp``, ``Softmax``, ``LogSoftmax`` over a set of axes.

Each is one op rather than a composition so that its reference is the stable,
max-shifted form (no overflow at ``x = 1000``, exact ``-inf`` handling) and its
gradient is the stable closed form, whatever rewrites do to the rest of a graph.
Special values follow ``scipy.special``: a slice of all ``-inf`` gives
``logsumexp = -inf`` and ``softmax = log_softmax = nan``.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import SymcTypeError, SymcValueError
from ..graph.record import record
from ..graph.types import TensorType
from .base import Op
from .reduce import reduced_shape


def _max(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    # ``initial`` makes an empty slice's maximum -inf instead of an error
    return np.max(x, axis=axes, keepdims=True, initial=-np.inf)


def logsumexp_impl(x: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """``log(sum(exp(x)))`` over ``axes``, shifted by the maximum.

    The maximum's own term is exactly 1, so the others are summed apart and
    added with ``log1p``: digits survive when one term dominates (``[0, -40]``).
    Where the maximum is not finite (an all ``-inf`` slice, ``+inf``, NaN) the
    plain shifted form gives the limit (``-inf``, ``inf``, NaN).
    """
    with np.errstate(all="ignore"):
        top = _max(x, axes)
        finite = np.isfinite(top)
        shift = np.where(finite, top, 0).astype(x.dtype)
        e = np.exp(x - shift)
        is_top = x == top
        ties = np.sum(is_top, axis=axes, keepdims=True).astype(x.dtype) - 1
        rest = np.sum(np.where(is_top, 0, e), axis=axes, keepdims=True) + ties
        plain = np.log(np.sum(e, axis=axes, keepdims=True))
        out = shift + np.where(finite, np.log1p(rest), plain)
    if not keepdims:
        out = np.squeeze(out, axis=axes)
    return np.asarray(out, dtype=x.dtype)


def softmax_impl(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` over ``axes``, shifted by the maximum."""
    with np.errstate(all="ignore"):
        e = np.exp(x - _max(x, axes))
        return np.asarray(e / np.sum(e, axis=axes, keepdims=True), dtype=x.dtype)


def log_softmax_impl(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``x - logsumexp(x)`` over ``axes``, computed from the shifted ``x``."""
    with np.errstate(all="ignore"):
        top = _max(x, axes)
        shifted = x - np.where(np.isfinite(top), top, 0).astype(x.dtype)
        # log1p-based, so the dominant entry keeps its digits: [0, -100] -> -3.7e-44
        lse = logsumexp_impl(shifted, axes, keepdims=True)
        return np.asarray(shifted - lse, dtype=x.dtype)


@record
class _OverAxes(Op):
    """Shared type rule: a floating input and a sorted tuple of in-range axes."""

    axes: tuple[int, ...]

    def _check(self, x: TensorType) -> None:
        if not dtypes.is_float(x.dtype):
            raise SymcTypeError(f"{self.name}: needs a floating input, got {x.describe()}.")
        if any(not 0 <= a < x.ndim for a in self.axes):
            raise SymcValueError(
                f"{self.name}: axes {self.axes} are out of range for {x.describe()}."
            )

    def label(self) -> str:
        return f"{self.name}{{axes={self.axes}}}"


@record
class LogSumExp(_OverAxes):
    """``log(sum(exp(x), axes))`` without overflow; its gradient is ``softmax(x) * g``."""

    keepdims: bool = False

    @property
    def name(self) -> str:
        return "logsumexp"

    def label(self) -> str:
        keep = ", keepdims" if self.keepdims else ""
        return f"logsumexp{{axes={self.axes}{keep}}}"

    def infer(self, x: TensorType) -> TensorType:
        self._check(x)
        return TensorType(x.dtype, reduced_shape(x.shape, self.axes, self.keepdims))

    def impl(self, x: np.ndarray) -> np.ndarray:
        return logsumexp_impl(x, self.axes, self.keepdims)

    def pullback(self, inputs, out, g):
        from ..api.reduce import expand_reduced
        from ..graph.node import apply

        (x,) = inputs
        return [expand_reduced(g, self.axes, self.keepdims) * apply(Softmax(self.axes), (x,))]


@record
class Softmax(_OverAxes):
    """``exp(x) / sum(exp(x), axes)`` without overflow; gradient ``s * (g - sum(g * s))``."""

    @property
    def name(self) -> str:
        return "softmax"

    def infer(self, x: TensorType) -> TensorType:
        self._check(x)
        return x

    def impl(self, x: np.ndarray) -> np.ndarray:
        return softmax_impl(x, self.axes)

    def pullback(self, inputs, out, g):
        from ..api.reduce import sum as rsum

        return [out * (g - rsum(g * out, self.axes, keepdims=True))]


@record
class LogSoftmax(_OverAxes):
    """``x - logsumexp(x, axes)`` without overflow; gradient ``g - softmax(x) * sum(g)``."""

    @property
    def name(self) -> str:
        return "log_softmax"

    def infer(self, x: TensorType) -> TensorType:
        self._check(x)
        return x

    def impl(self, x: np.ndarray) -> np.ndarray:
        return log_softmax_impl(x, self.axes)

    def pullback(self, inputs, out, g):
        from ..api.math import exp
        from ..api.reduce import sum as rsum

        # exp(out) is softmax(x), already shifted: no second max pass
        return [g - exp(out) * rsum(g, self.axes, keepdims=True)]
