"""Shape ops: ``DimShuffle`` (transpose, expand_dims, squeeze in one), ``Reshape``."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import SymcShapeError, SymcTypeError, SymcValueError
from ..graph.record import record
from ..graph.types import TensorType, format_shape
from .base import Op


@record
class DimShuffle(Op):
    """Reorder axes, insert length-1 axes (``"x"``) and drop length-1 axes.

    ``pattern[k]`` says where output axis ``k`` comes from: an input axis, or
    ``"x"`` for a new length-1 axis. Input axes missing from the pattern are
    dropped and must have length 1. The result is a view in every backend.
    """

    pattern: tuple
    in_ndim: int

    @property
    def name(self) -> str:
        kept = [p for p in self.pattern if p != "x"]
        if "x" not in self.pattern and len(kept) == self.in_ndim:
            return "transpose"
        if kept == sorted(kept) and len(kept) == self.in_ndim:
            return "expand_dims"
        if kept == sorted(kept) and "x" not in self.pattern:
            return "squeeze"
        return "dimshuffle"

    def label(self) -> str:
        inner = ",".join(str(p) for p in self.pattern)
        return f"{self.name}{{{inner}}}"

    def infer(self, x: TensorType) -> TensorType:
        if x.ndim != self.in_ndim:
            raise SymcShapeError(f"{self.name}: expected {self.in_ndim} dims, got {x.describe()}.")
        kept = [p for p in self.pattern if p != "x"]
        for a in range(x.ndim):
            if a not in kept and x.shape[a] not in (1, None):
                raise SymcShapeError(
                    f"squeeze: cannot drop axis {a} of {x.describe()}: its length is not 1."
                )
        return TensorType(x.dtype, tuple(1 if p == "x" else x.shape[p] for p in self.pattern))

    def impl(self, x: np.ndarray) -> np.ndarray:
        kept = [p for p in self.pattern if p != "x"]
        dropped = tuple(a for a in range(x.ndim) if a not in kept)
        if dropped:
            if any(x.shape[a] != 1 for a in dropped):
                raise SymcShapeError(
                    f"squeeze: cannot drop axes {dropped} of an array of shape {x.shape}."
                )
            x = x.reshape([d for a, d in enumerate(x.shape) if a not in dropped])
            remap = {a: k for k, a in enumerate(a for a in range(self.in_ndim) if a not in dropped)}
            kept = [remap[a] for a in kept]
        y = np.transpose(x, kept)
        new = [k for k, p in enumerate(self.pattern) if p == "x"]
        return np.expand_dims(y, new) if new else y

    def pullback(self, inputs, out, g):
        (x,) = inputs
        if not dtypes.is_differentiable(x.type.dtype):
            return [None]
        # undo: drop the new axes, restore dropped ones, invert the permutation
        kept = [p for p in self.pattern if p != "x"]
        g_kept = dimshuffle(g, [k for k, p in enumerate(self.pattern) if p != "x"])
        inverse: list = []
        for a in range(self.in_ndim):
            inverse.append(kept.index(a) if a in kept else "x")
        return [dimshuffle(g_kept, inverse)]


def dimshuffle(x, pattern) -> object:
    """Apply a ``DimShuffle`` (identity patterns return ``x`` itself)."""
    from ..graph.node import apply

    pattern = tuple(pattern)
    if pattern == tuple(range(x.type.ndim)):
        return x
    return apply(DimShuffle(pattern, x.type.ndim), (x,))


@record
class Reshape(Op):
    """``Reshape(shape)(x, *lengths)``: NumPy's C-order reshape.

    ``shape`` holds each output length: an int, ``-1`` (inferred, at most one),
    or ``None`` for a length given by the next extra input (an int scalar).
    """

    shape: tuple

    def label(self) -> str:
        return f"reshape{{{format_shape(tuple(None if s is None else s for s in self.shape))}}}"

    def infer(self, x: TensorType, *lengths: TensorType) -> TensorType:
        if sum(1 for s in self.shape if s is None) != len(lengths):
            raise SymcTypeError("reshape: the symbolic lengths do not match the pattern.")
        for t in lengths:
            if t.ndim != 0 or not dtypes.is_int(t.dtype):
                raise SymcTypeError(
                    f"reshape: lengths must be integer scalars, got {t.describe()}."
                )
        out = [None if s in (None, -1) else s for s in self.shape]
        known_in = None if None in x.shape else int(np.prod(x.shape, dtype=np.int64))
        free = self.shape.index(-1) if -1 in self.shape else None
        if free is not None and None not in out[:free] + out[free + 1 :]:
            rest = int(np.prod([d for d in out if d is not None], dtype=np.int64))
            if known_in is not None:
                if rest == 0 or known_in % rest:
                    raise SymcShapeError(
                        f"reshape: cannot reshape {x.describe()} to "
                        f"{format_shape(self.shape)}: {known_in} elements do not divide."
                    )
                out[free] = known_in // rest
        if known_in is not None and None not in out:
            n_out = int(np.prod(out, dtype=np.int64))
            if n_out != known_in:
                raise SymcShapeError(
                    f"reshape: cannot reshape {x.describe()} ({known_in} elements) to "
                    f"{format_shape(tuple(out))} ({n_out} elements)."
                )
        return TensorType(x.dtype, tuple(out))

    def impl(self, x: np.ndarray, *lengths: np.ndarray) -> np.ndarray:
        it = iter(int(n) for n in lengths)
        shape = tuple(next(it) if s is None else s for s in self.shape)
        try:
            return x.reshape(shape)
        except ValueError:
            raise SymcShapeError(
                f"reshape: cannot reshape an array of shape {x.shape} to {shape}."
            ) from None

    def pullback(self, inputs, out, g):
        from ..api.shape import reshape

        x = inputs[0]
        if not dtypes.is_differentiable(x.type.dtype):
            return [None] * len(inputs)
        return [reshape(g, _shape_spec(x)), *([None] * (len(inputs) - 1))]


def _shape_spec(x) -> tuple:
    from ..api.shape import lengths

    return tuple(d if d is not None else n for d, n in zip(x.type.shape, lengths(x), strict=True))


@record
class Concatenate(Op):
    """``Concatenate(axis)(*xs)``: NumPy's ``concatenate`` along an existing axis.

    Every other length must agree; the result's dtype is NumPy's promotion of
    the inputs' dtypes.
    """

    axis: int

    def label(self) -> str:
        return f"concatenate{{axis={self.axis}}}"

    def infer(self, *xs: TensorType) -> TensorType:
        if not xs:
            raise SymcValueError("concatenate: needs at least one input.")
        listed = ", ".join(t.describe() for t in xs)
        ndim = xs[0].ndim
        if any(t.ndim != ndim for t in xs):
            raise SymcShapeError(
                f"concatenate: all inputs must have the same number of dims, got {listed}."
            )
        if not 0 <= self.axis < ndim:
            raise SymcValueError(f"concatenate: axis {self.axis} is out of range for {listed}.")
        out: list[int | None] = []
        for a in range(ndim):
            ds = [t.shape[a] for t in xs]
            if a == self.axis:
                out.append(None if None in ds else sum(ds))
                continue
            known = sorted({d for d in ds if d is not None})
            if len(known) > 1:
                raise SymcShapeError(
                    f"concatenate: cannot join {listed} along axis {self.axis}: their lengths "
                    f"on axis {a} differ ({', '.join(map(str, known))})."
                )
            out.append(known[0] if known else None)
        return TensorType(dtypes.result(*(t.dtype for t in xs)), tuple(out))

    def impl(self, *xs: np.ndarray) -> np.ndarray:
        first = xs[0].shape
        for x in xs[1:]:
            if x.shape[: self.axis] + x.shape[self.axis + 1 :] != (
                first[: self.axis] + first[self.axis + 1 :]
            ):
                shapes = ", ".join(str(tuple(y.shape)) for y in xs)
                raise SymcShapeError(
                    f"concatenate: cannot join arrays of shapes {shapes} along axis "
                    f"{self.axis}: every other length must agree."
                )
        return np.concatenate(xs, axis=self.axis)

    def pullback(self, inputs, out, g):
        from ..api.index import getitem
        from ..api.shape import length

        grads: list = []
        start: object = 0
        lead = (slice(None),) * self.axis
        for x in inputs:
            n = x.type.shape[self.axis]
            if isinstance(start, int) and n is not None:
                stop: object = start + n
            else:
                stop = start + length(x, self.axis)
            if dtypes.is_differentiable(x.type.dtype):
                grads.append(getitem(g, (*lead, slice(start, stop))))
            else:
                grads.append(None)
            start = stop
        return grads
