"""Dtype names and NumPy's promotion rules, in one place.

symc names dtypes by their NumPy string ("float64", "int64", "bool") so types
stay hashable and printable without holding numpy objects.
"""

from __future__ import annotations

import functools

import numpy as np

from .config import config
from .errors import SymcTypeError

FLOATS = ("float16", "float32", "float64")
SIGNED = ("int8", "int16", "int32", "int64")
UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
INTS = SIGNED + UNSIGNED
ALL = ("bool",) + INTS + FLOATS
_ALL_SET = frozenset(ALL)


def canonical(dtype: object) -> str:
    """The canonical name of ``dtype`` (``np.float32``, ``"f4"`` -> ``"float32"``)."""
    if dtype is None:
        return config.floatX
    if dtype.__class__ is str and dtype in _ALL_SET:
        return dtype
    if dtype == "floatX":
        return config.floatX
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise SymcTypeError(f"{dtype!r} is not a dtype symc knows.") from None
    if name not in ALL:
        raise SymcTypeError(f"dtype {name} is not supported; use one of {', '.join(ALL)}.")
    return name


def is_float(dtype: str) -> bool:
    return dtype in FLOATS


def is_int(dtype: str) -> bool:
    return dtype in INTS


def is_bool(dtype: str) -> bool:
    return dtype == "bool"


def is_differentiable(dtype: str) -> bool:
    """Only floating values carry gradients (as in JAX and Theano)."""
    return dtype in FLOATS


@functools.cache  # called for every operation built; np.result_type costs microseconds
def result(*dtypes: str) -> str:
    """NumPy's promotion of array dtypes (``int64`` + ``float32`` -> ``float64``)."""
    return np.result_type(*dtypes).name


def as_float(dtype: str) -> str:
    """The dtype a floating function returns for an input dtype: floats stay, others -> floatX."""
    return dtype if dtype in FLOATS else config.floatX


def can_cast(src: str, dst: str) -> bool:
    """Whether a value of ``src`` may be passed for ``dst`` (NumPy's "same_kind" rule)."""
    return bool(np.can_cast(src, dst, casting="same_kind"))
