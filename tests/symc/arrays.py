"""Hypothesis strategies for test arrays: odd shapes, odd layouts, several dtypes.

``layouts`` turns a C-contiguous array into an equal array with another
memory layout (strided slice of a bigger buffer, transposed, negative
strides), so every op is also fed non-contiguous inputs.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

FLOAT_DTYPES = ["float32", "float64"]
ALL_DTYPES = ["float32", "float64", "int64", "bool"]


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 0, max_side: int = 4):
    """Shapes including 0-d, length-0 and length-1 axes."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(
        tuple
    )


def values(dtype: str, shape: tuple, rng: np.random.Generator, low=-3.0, high=3.0) -> np.ndarray:
    """Random values of ``dtype``: uniform floats, small ints, random bools."""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("int") or dtype.startswith("uint"):
        return rng.integers(int(low), int(high) + 1, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def relayout(arr: np.ndarray, how: str) -> np.ndarray:
    """An array equal to ``arr`` whose memory layout is ``how``."""
    if how == "c" or arr.ndim == 0:
        return arr
    if how == "strided":
        big = np.zeros(tuple(2 * d for d in arr.shape), dtype=arr.dtype)
        view = big[tuple(slice(None, None, 2) for _ in arr.shape)]
        view[...] = arr
        return view
    if how == "fortran":
        return np.asfortranarray(arr)
    if how == "reversed":
        flipped = np.ascontiguousarray(arr[tuple(slice(None, None, -1) for _ in arr.shape)])
        return flipped[tuple(slice(None, None, -1) for _ in arr.shape)]
    raise ValueError(how)


layouts = st.sampled_from(["c", "strided", "fortran", "reversed"])


def one_array(shape=None, dtypes=ALL_DTYPES) -> dict:
    """``@given`` keywords for a test of one array: ``shape`` (default :func:`shapes`),
    ``dtype`` (one of ``dtypes``), layout ``how``, ``static`` and ``data``."""
    return dict(
        shape=shapes() if shape is None else shape,
        dtype=st.sampled_from(dtypes),
        how=layouts,
        static=st.booleans(),
        data=st.data(),
    )
