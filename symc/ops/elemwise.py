"""``Elemwise``: one row of the scalar table mapped over broadcast arrays, and ``Cast``."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import SymcTypeError
from ..graph.record import record
from ..graph.types import TensorType, broadcast_shapes
from .base import Op
from .scalar_table import ROWS, numpy_result_dtype

_INFERRED: dict = {}


@record
class Elemwise(Op):
    """Apply the scalar function ``fn`` (a row of ``scalar_table.ROWS``) elementwise."""

    fn: str
    elementwise = True

    @property
    def row(self):
        return ROWS[self.fn]

    @property
    def name(self) -> str:
        return self.fn

    def label(self) -> str:
        return self.fn

    def infer(self, *types: TensorType) -> TensorType:
        # graph building calls this once per node: memoize on the (hashable) types
        key = (self.fn, types, dtypes.config.floatX)
        out = _INFERRED.get(key)
        if out is None:
            out = _INFERRED[key] = self._infer(types)
        return out

    def _infer(self, types: tuple[TensorType, ...]) -> TensorType:
        row = self.row
        if len(types) != row.arity:
            raise SymcTypeError(f"{self.fn}: takes {row.arity} inputs, got {len(types)}.")
        shape = broadcast_shapes(*(t.shape for t in types), op=self.fn)
        ins = tuple(t.dtype for t in types)
        if self.fn == "where" and ins[0] != "bool":
            raise SymcTypeError(f"where: the condition must be bool, got {ins[0]}.")
        if row.kind == "bool":
            # comparisons still need NumPy to accept the pair (e.g. no loop for some mixes)
            self._numpy_dtype(ins)
            return TensorType("bool", shape)
        if row.kind == "float" and not any(dtypes.is_float(d) for d in ins):
            # NumPy would pick float16 for bool/int8 and float64 for int64; symc
            # documents one rule instead: integer and boolean inputs give floatX
            return TensorType(dtypes.config.floatX, shape)
        return TensorType(self._numpy_dtype(ins), shape)

    def _numpy_dtype(self, ins: tuple[str, ...]) -> str:
        try:
            return numpy_result_dtype(self.fn, ins)
        except (TypeError, ValueError):
            listed = ", ".join(ins)
            raise SymcTypeError(
                f"{self.fn}: not defined for dtypes ({listed}) (NumPy refuses them too)."
            ) from None

    def impl(self, *values: np.ndarray) -> np.ndarray:
        row = self.row
        if row.kind == "float" and not any(np.asarray(v).dtype.kind == "f" for v in values):
            # computed in float64 and cast by the caller to the inferred floatX; the
            # row's own impl may keep its input dtype (sigmoid) or pick float16 (exp)
            values = tuple(np.asarray(v, dtype="float64") for v in values)
        with np.errstate(all="ignore"):
            return np.asarray(row.impl(*values))

    def pullback(self, inputs, out, g):
        row = self.row
        if row.deriv is None:
            return [None] * len(inputs)
        grads = row.deriv(inputs, out, g)
        return [
            None if gi is None or not dtypes.is_differentiable(x.type.dtype) else gi
            for x, gi in zip(inputs, grads, strict=True)
        ]


@record
class Cast(Op):
    """Convert to ``dtype`` (NumPy ``astype`` semantics: truncation toward zero for ints)."""

    dtype: str
    elementwise = True

    def label(self) -> str:
        return f"cast{{{self.dtype}}}"

    def infer(self, x: TensorType) -> TensorType:
        return TensorType(self.dtype, x.shape)

    def impl(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(x).astype(self.dtype)

    def pullback(self, inputs, out, g):
        (x,) = inputs
        if not dtypes.is_differentiable(x.type.dtype) or not dtypes.is_differentiable(self.dtype):
            return [None]
        return [g]
