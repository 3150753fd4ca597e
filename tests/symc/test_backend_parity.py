"""The C backend against the python reference on random small graphs.

Each example draws a graph of elementwise ops and one reduction over two
inputs of random shapes (0-d, empty, length-1 axes included), dtypes and
memory layouts (strided, Fortran, reversed), and requires both backends to
agree on values, dtypes and shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symc as sc

from .arrays import layouts, relayout, shapes, values

UNARY = ["exp", "sin", "tanh", "abs", "square", "neg", "sigmoid", "log1p_abs", "floor"]
BINARY = ["add", "sub", "mul", "maximum", "minimum", "where_gt", "truediv_safe"]
REDUCE = ["sum", "prod", "max", "min", "mean", "none"]
DTYPES = ["float64", "float32", "int64", "int32", "bool"]


def _unary(name, x):
    if name == "neg":
        return -x if x.dtype != "bool" else ~x
    if name == "log1p_abs":
        return sc.log1p(sc.abs(x))
    return getattr(sc, name)(x)


def _binary(name, a, b):
    if name == "add":
        return a + b
    if name == "sub":
        return a - b if "bool" not in (a.dtype, b.dtype) else a + b
    if name == "mul":
        return a * b
    if name == "where_gt":
        return sc.where(a > b, a, b)
    if name == "truediv_safe":
        return a / (sc.abs(b) + 1)
    return getattr(sc, name)(a, b)


@st.composite
def graphs(draw):
    shape = draw(shapes(max_dims=3, max_side=3))
    # the second input broadcasts: a suffix of the shape, with some axes of length 1
    k = draw(st.integers(0, len(shape)))
    other = tuple(1 if draw(st.booleans()) else d for d in shape[len(shape) - k :])
    dtypes = (draw(st.sampled_from(DTYPES)), draw(st.sampled_from(DTYPES)))
    ops = draw(st.lists(st.sampled_from(UNARY + BINARY), min_size=1, max_size=4))
    red = draw(st.sampled_from(REDUCE))
    axis = None
    if shape and draw(st.booleans()):
        axis = draw(st.integers(0, len(shape) - 1))
    keep = draw(st.booleans())
    lay = (draw(layouts), draw(layouts))
    seed = draw(st.integers(0, 2**16))
    return shape, other, dtypes, ops, red, axis, keep, lay, seed


def _build(x, y, ops, red, axis, keep):
    out = x
    for name in ops:
        out = _unary(name, out) if name in UNARY else _binary(name, out, y)
    if red != "none":
        out = getattr(sc, red)(out, axis=axis, keepdims=keep)
    return out


def _nudge(a: np.ndarray) -> np.ndarray:
    """``a`` moved up by one rounding error of its dtype (unchanged when not float)."""
    if a.dtype.kind != "f":
        return a
    return a * (1 + np.finfo(a.dtype).eps)


@settings(max_examples=30, deadline=None)
@given(graphs())
def test_c_matches_python_on_random_graphs(case):
    shape, other, (dx, dy), ops, red, axis, keep, (lx, ly), seed = case
    rng = np.random.default_rng(seed)
    x = sc.tensor("x", shape=tuple(None if d != 1 else 1 for d in shape), dtype=dx)
    y = sc.tensor("y", shape=tuple(None if d != 1 else 1 for d in other), dtype=dy)
    if red in ("max", "min") and 0 in shape:
        red = "sum"  # both backends refuse an empty max; tested in test_reduce
    try:
        out = _build(x, y, ops, red, axis, keep)
    except sc.SymcTypeError:
        return  # a combination NumPy refuses too (e.g. a float op on bools)
    a = relayout(values(dx, shape, rng), lx)
    b = relayout(values(dy, other, rng), ly)
    want = sc.function([x, y], out, backend="python", on_unused_input="ignore")(a, b)
    got = sc.function([x, y], out, backend="c", on_unused_input="ignore")(a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    if got.dtype.kind == "f":
        tol = 2e-5 if got.dtype == np.float32 else 1e-12
        # an ill-conditioned graph (sin of exp(exp(x)) ~ 1e4) amplifies one rounding
        # of an inner function by orders of magnitude: allow what moving each input
        # by one rounding does to the reference itself
        nudged = sc.function([x, y], out, backend="python", on_unused_input="ignore")(
            _nudge(a), _nudge(b)
        )
        with np.errstate(invalid="ignore"):
            spread = np.abs(nudged.astype(np.float64) - want)
        spread = float(np.max(spread[np.isfinite(spread)], initial=0.0))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol + 2 * spread)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
def test_views_of_inputs_compile_to_strides(dtype):
    """Transposes, slices with negative steps and broadcasts read memory in place."""
    m = sc.matrix("m", dtype=dtype)
    out = m.T[::-1, 1:] * 2 + m[0, ::2].sum()
    f = sc.function([m], out, backend="c")
    a = relayout(np.arange(20).reshape(4, 5).astype(dtype), "strided")
    want = sc.function([m], out, backend="python")(a)
    np.testing.assert_allclose(f(a), want, rtol=1e-6)
    assert "Elementwise" in f.source
    # the transposed, reversed, sliced view is not copied: one elementwise statement
    assert f.source.count("Elementwise */") == 1
