"""Leaf ops: symbolic inputs, constants and shared variables."""

from __future__ import annotations

from dataclasses import field

import numpy as np

from ..graph.record import record
from .base import Op


@record
class Input(Op):
    """A symbolic input; ``uid`` makes every call to ``sc.scalar(...)`` a new variable."""

    uid: int
    is_leaf = True

    def label(self) -> str:
        return "input"


@record(eq=False)
class Constant(Op):
    """A constant array; equal constants (same dtype, shape and bytes) are one node."""

    value: np.ndarray = field(repr=False)
    is_leaf = True

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def impl(self) -> np.ndarray:
        return self.value

    def label(self) -> str:
        v = self.value
        if v.ndim == 0:
            return repr(v.item())
        if v.size <= 6:
            return np.array2string(v, separator=", ").replace("\n", "")
        return f"constant{v.shape}"


class SharedContainer:
    """The storage of a shared variable: one array, replaced on ``set_value``."""

    __slots__ = ("value",)

    def __init__(self, value: np.ndarray):
        self.value = value


@record(eq=False)
class Shared(Op):
    """A shared variable: state that lives between calls of compiled functions."""

    container: SharedContainer = field(repr=False)
    is_leaf = True

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def impl(self) -> np.ndarray:
        return self.container.value

    def label(self) -> str:
        return "shared"
