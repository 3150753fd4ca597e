"""Indexing ops: basic indexing (``Subtensor``) and its adjoint (``IncSubtensor``),
integer-array indexing along one axis (``Take``) and its adjoint (``AdvancedIncSubtensor``).

A basic index is stored as static ``items``, one per entry of the index with
the Ellipsis already expanded, so every input axis is covered:

* ``("int", k)`` -- an integer index; drops the axis,
* ``("slice", start, stop, step)`` -- each part an int or ``None`` (omitted),
* ``("new",)`` -- ``np.newaxis``, a new length-1 axis.

Any int part may be :data:`SYM`: its value is the next extra input (an
integer scalar node), in the order the parts appear. Constant parts stay in
the op, so ``v[1:]`` and ``v[1:]`` intern to one node and a backend sees the
constants.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import SymcIndexError, SymcShapeError, SymcTypeError, SymcValueError
from ..graph.record import record
from ..graph.types import TensorType, format_shape
from .base import Op

#: an index part given by the next extra input
SYM = "?"

FULL = ("slice", None, None, None)


def format_items(items: tuple) -> str:
    """``[1:?:-1, None, ?]``: the index as the user would write it."""

    def part(p) -> str:
        return "" if p is None else str(p)

    out = []
    for item in items:
        if item[0] == "new":
            out.append("None")
        elif item[0] == "int":
            out.append(str(item[1]))
        else:
            start, stop, step = item[1:]
            text = f"{part(start)}:{part(stop)}"
            out.append(text if step is None else f"{text}:{part(step)}")
    return "[" + ", ".join(out) + "]"


def n_symbolic(items: tuple) -> int:
    return sum(1 for item in items for p in item[1:] if p == SYM)


def _consumed(items: tuple) -> int:
    return sum(1 for item in items if item[0] != "new")


def _check_index_inputs(name: str, items: tuple, x: TensorType, syms: tuple) -> None:
    if len(syms) != n_symbolic(items):
        raise SymcTypeError(
            f"{name}: the index {format_items(items)} needs {n_symbolic(items)} symbolic "
            f"parts, got {len(syms)}."
        )
    for t in syms:
        if t.ndim != 0 or not dtypes.is_int(t.dtype):
            raise SymcTypeError(
                f"{name}: symbolic indices and slice bounds must be integer scalars, "
                f"got {t.describe()}."
            )
    if _consumed(items) != x.ndim:
        raise SymcIndexError(
            f"{name}: the index {format_items(items)} covers {_consumed(items)} axes, but "
            f"the indexed value has {x.describe()}."
        )


def _out_of_bounds(name: str, items: tuple, k: int, axis: int, shape: tuple, dtype=None) -> str:
    what = f"shape {format_shape(shape)}" + (f" {dtype}" if dtype else "")
    return (
        f"{name}: index {k} is out of bounds for axis {axis} with length {shape[axis]} "
        f"(indexing a value of {what} with {format_items(items)})."
    )


def indexed_shape(name: str, items: tuple, x: TensorType) -> tuple:
    """The static shape of ``x[items]``; constant ints are bounds-checked on known lengths."""
    out: list[int | None] = []
    axis = 0
    for item in items:
        kind = item[0]
        if kind == "new":
            out.append(1)
            continue
        n = x.shape[axis]
        if kind == "int":
            k = item[1]
            if k != SYM and n is not None and not -n <= k < n:
                raise SymcIndexError(_out_of_bounds(name, items, k, axis, x.shape, x.dtype))
        else:
            start, stop, step = item[1:]
            if step == 0:
                raise SymcValueError(
                    f"{name}: slice step cannot be zero (index {format_items(items)} on "
                    f"{x.describe()})."
                )
            if SYM in item[1:] or n is None:
                full_unit = start is None and stop is None and step in (None, 1)
                out.append(n if full_unit else None)
            else:
                out.append(len(range(*slice(start, stop, step).indices(n))))
        axis += 1
    return tuple(out)


def numpy_index(name: str, items: tuple, shape: tuple, syms) -> tuple:
    """The NumPy index tuple for ``items``, with symbolic parts filled in and ints checked."""
    values = iter([int(v) for v in syms])
    idx: list = []
    axis = 0
    for item in items:
        kind = item[0]
        if kind == "new":
            idx.append(None)
            continue
        parts = [next(values) if p == SYM else p for p in item[1:]]
        if kind == "int":
            (k,) = parts
            if not -shape[axis] <= k < shape[axis]:
                raise SymcIndexError(_out_of_bounds(name, items, k, axis, shape))
            idx.append(k)
        else:
            if parts[2] == 0:
                raise SymcValueError(f"{name}: slice step cannot be zero in {format_items(items)}.")
            idx.append(slice(*parts))
        axis += 1
    return tuple(idx)


@record
class Subtensor(Op):
    """``Subtensor(items)(x, *symbolic_parts)``: NumPy basic indexing ``x[index]``."""

    items: tuple

    @property
    def name(self) -> str:
        return "subtensor"

    def label(self) -> str:
        return f"subtensor{format_items(self.items)}"

    def infer(self, x: TensorType, *syms: TensorType) -> TensorType:
        _check_index_inputs(self.name, self.items, x, syms)
        return TensorType(x.dtype, indexed_shape(self.name, self.items, x))

    def impl(self, x: np.ndarray, *syms: np.ndarray) -> np.ndarray:
        return np.asarray(x[numpy_index(self.name, self.items, x.shape, syms)])

    def pullback(self, inputs, out, g):
        from ..api.creation import zeros_like

        x, *syms = inputs
        gx = None
        if dtypes.is_differentiable(x.type.dtype):
            gx = IncSubtensor(self.items)(zeros_like(x), g, *syms)
        return [gx, *([None] * len(syms))]


def _check_addend(name: str, target: tuple, x: TensorType, y: TensorType, where: str) -> None:
    """``y`` must broadcast to ``target`` (the indexed part of ``x``) and cast to its dtype."""
    ok = y.ndim <= len(target)
    if ok:
        for dy, dt in zip(y.shape, target[len(target) - y.ndim :], strict=True):
            if dy not in (1, None) and dt is not None and dy != dt:
                ok = False
    if not ok:
        raise SymcShapeError(
            f"{name}: cannot add a value of {y.describe()} to {where} of shape "
            f"{format_shape(target)} (indexing {x.describe()})."
        )
    if not dtypes.can_cast(y.dtype, x.dtype):
        raise SymcTypeError(
            f"{name}: cannot add a {y.dtype} value into a {x.dtype} array ({x.describe()}); "
            f"NumPy's same_kind rule forbids it."
        )


@record
class IncSubtensor(Op):
    """``IncSubtensor(items)(x, y, *symbolic_parts)``: a copy of ``x`` with ``y`` added at
    ``x[index]``. A basic index never repeats an element, so a plain ``+=`` is exact."""

    items: tuple

    @property
    def name(self) -> str:
        return "inc_subtensor"

    def label(self) -> str:
        return f"inc_subtensor{format_items(self.items)}"

    def infer(self, x: TensorType, y: TensorType, *syms: TensorType) -> TensorType:
        _check_index_inputs(self.name, self.items, x, syms)
        target = indexed_shape(self.name, self.items, x)
        _check_addend(self.name, target, x, y, f"x{format_items(self.items)}")
        return x

    def impl(self, x: np.ndarray, y: np.ndarray, *syms: np.ndarray) -> np.ndarray:
        out = np.array(x, copy=True)
        idx = numpy_index(self.name, self.items, x.shape, syms)
        try:
            out[idx] += y
        except ValueError:
            raise SymcShapeError(
                f"{self.name}: cannot add a value of shape {np.shape(y)} to "
                f"x{format_items(self.items)} of shape {np.shape(x[idx])} (x has shape {x.shape})."
            ) from None
        return out

    def pullback(self, inputs, out, g):
        x, y, *syms = inputs
        gx = g if dtypes.is_differentiable(x.type.dtype) else None
        gy = Subtensor(self.items)(g, *syms) if dtypes.is_differentiable(y.type.dtype) else None
        return [gx, gy, *([None] * len(syms))]


def _check_indices(name: str, idx: TensorType) -> None:
    if dtypes.is_bool(idx.dtype):
        raise SymcIndexError(
            f"{name}: boolean mask indices ({idx.describe()}) are not supported; use "
            f"sc.where, or integer indices."
        )
    if not dtypes.is_int(idx.dtype):
        raise SymcTypeError(f"{name}: indices must be integers, got {idx.describe()}.")


def _check_axis(name: str, axis: int, x: TensorType) -> None:
    if not 0 <= axis < x.ndim:
        raise SymcValueError(f"{name}: axis {axis} is out of range for {x.describe()}.")


def check_take_bounds(name: str, idx: np.ndarray, axis: int, shape: tuple) -> None:
    """Raise ``SymcIndexError`` naming the first index outside ``[-n, n)`` on ``axis``."""
    n = shape[axis]
    bad = (idx < -n) | (idx >= n)
    if np.any(bad):
        k = int(np.asarray(idx)[bad].flat[0])
        raise SymcIndexError(
            f"{name}: index {k} is out of bounds for axis {axis} with length {n} "
            f"(indexing a value of shape {format_shape(shape)})."
        )


def _taken_shape(axis: int, x: TensorType, idx: TensorType) -> tuple:
    return x.shape[:axis] + idx.shape + x.shape[axis + 1 :]


@record
class Take(Op):
    """``Take(axis)(x, indices)``: NumPy's ``take`` (gather) along one axis.

    The result has shape ``x.shape[:axis] + indices.shape + x.shape[axis+1:]``;
    negative indices count from the end, others out of range are an error.
    """

    axis: int

    def label(self) -> str:
        return f"take{{axis={self.axis}}}"

    def infer(self, x: TensorType, idx: TensorType) -> TensorType:
        _check_axis(self.name, self.axis, x)
        _check_indices(self.name, idx)
        return TensorType(x.dtype, _taken_shape(self.axis, x, idx))

    def impl(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        check_take_bounds(self.name, idx, self.axis, x.shape)
        return np.take(x, idx, axis=self.axis)

    def pullback(self, inputs, out, g):
        from ..api.creation import zeros_like

        x, idx = inputs
        if not dtypes.is_differentiable(x.type.dtype):
            return [None, None]
        return [AdvancedIncSubtensor(self.axis)(zeros_like(x), g, idx), None]


@record
class AdvancedIncSubtensor(Op):
    """``AdvancedIncSubtensor(axis)(x, y, indices)``: a copy of ``x`` with ``y`` added at
    ``indices`` along ``axis``; repeated indices accumulate (``np.add.at``)."""

    axis: int

    @property
    def name(self) -> str:
        return "advanced_inc_subtensor"

    def label(self) -> str:
        return f"advanced_inc_subtensor{{axis={self.axis}}}"

    def infer(self, x: TensorType, y: TensorType, idx: TensorType) -> TensorType:
        _check_axis(self.name, self.axis, x)
        _check_indices(self.name, idx)
        target = _taken_shape(self.axis, x, idx)
        _check_addend(self.name, target, x, y, "the taken entries")
        return x

    def impl(self, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
        check_take_bounds(self.name, idx, self.axis, x.shape)
        out = np.array(x, copy=True)
        try:
            np.add.at(out, (slice(None),) * self.axis + (idx,), y)
        except ValueError:
            raise SymcShapeError(
                f"{self.name}: cannot add a value of shape {np.shape(y)} at indices of shape "
                f"{np.shape(idx)} along axis {self.axis} of an array of shape {x.shape}."
            ) from None
        return out

    def pullback(self, inputs, out, g):
        x, y, idx = inputs
        gx = g if dtypes.is_differentiable(x.type.dtype) else None
        gy = Take(self.axis)(g, idx) if dtypes.is_differentiable(y.type.dtype) else None
        return [gx, gy, None]
