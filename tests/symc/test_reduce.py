"""Reductions against NumPy: axes, keepdims, dtypes, empty axes, layouts, gradients, errors."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symc as sc

from .arrays import layouts, relayout, shapes

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

KINDS = ["sum", "prod", "max", "min", "mean", "var", "std", "argmax", "argmin"]
DTYPES = ["float32", "float64", "int64", "int32", "bool"]


def sample(dtype: str, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Small values (products of up to 64 of them stay in range), with ties."""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("int"):
        return rng.integers(-1, 2, size=shape).astype(dtype)
    return (np.round(rng.uniform(-1.5, 1.5, size=shape) * 4) / 4).astype(dtype)


@st.composite
def axes_for(draw, ndim: int, single: bool = False):
    """None, an int (maybe negative) or a tuple of distinct axes (maybe negative)."""
    if ndim == 0:
        return draw(st.sampled_from([None, ()] if not single else [None]))
    choice = draw(st.sampled_from(["none", "int", "tuple"] if not single else ["none", "int"]))
    if choice == "none":
        return None
    if choice == "int":
        a = draw(st.integers(0, ndim - 1))
        return a - ndim if draw(st.booleans()) else a
    picked = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim))
    return tuple(a - ndim if draw(st.booleans()) else a for a in picked)


def numpy_reduce(kind: str, x: np.ndarray, axis, keepdims: bool):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(getattr(np, kind)(x, axis=axis, keepdims=keepdims))


def tol(dtype: str) -> dict:
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-12}


@SETTINGS
@given(
    kind=st.sampled_from(KINDS),
    dtype=st.sampled_from(DTYPES),
    shape=shapes(max_dims=3),
    keepdims=st.booleans(),
    known=st.booleans(),
    layout=layouts,
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
)
def test_reduce_forward(backend, kind, dtype, shape, keepdims, known, layout, data, seed):
    axis = data.draw(axes_for(len(shape), single=kind.startswith("arg")))
    x = sample(dtype, shape, np.random.default_rng(seed))
    v = sc.tensor("x", tuple(d if known or d == 1 else None for d in shape), dtype)
    try:
        want = numpy_reduce(kind, x, axis, keepdims)
    except ValueError:  # an empty axis with no identity
        want = None
    fn = getattr(sc, kind)
    if want is None:
        if known:
            with pytest.raises(sc.SymcError, match=kind):
                fn(v, axis=axis, keepdims=keepdims)
        else:
            f = sc.function([v], fn(v, axis=axis, keepdims=keepdims), backend=backend)
            with pytest.raises(sc.SymcError, match=kind):
                f(relayout(x, layout))
        return
    out = fn(v, axis=axis, keepdims=keepdims)
    # dtype rules: NumPy's, but means (and var/std) of integers and bools give floatX
    want_dtype = want.dtype.name
    if kind in ("mean", "var", "std") and dtype in ("int64", "int32", "bool"):
        want_dtype = sc.config.floatX
    assert out.dtype == want_dtype, (kind, dtype)
    if known:
        assert out.shape == want.shape
    assert out.ndim == want.ndim
    got = sc.function([v], out, backend=backend)(relayout(x, layout))
    assert got.dtype.name == want_dtype
    assert got.shape == want.shape
    if want_dtype.startswith("float"):
        np.testing.assert_allclose(got, want, equal_nan=True, **tol(want_dtype))
    else:
        np.testing.assert_array_equal(got, want)


def test_sum_dtypes():
    for dtype, want in [
        ("int32", "int64"),
        ("bool", "int64"),
        ("int8", "int64"),
        ("uint8", "uint64"),
    ]:
        v = sc.vector("v", dtype=dtype)
        assert sc.sum(v).dtype == want == np.sum(np.ones(2, dtype)).dtype.name
        assert sc.prod(v).dtype == want
        assert sc.max(v).dtype == dtype
    assert sc.sum(sc.vector("f", dtype="float32")).dtype == "float32"
    assert sc.mean(sc.ivector("i")).dtype == sc.config.floatX
    with sc.config.change(floatX="float32"):
        assert sc.mean(sc.ivector("i")).dtype == "float32"
        assert sc.var(sc.vector("b", dtype="bool")).dtype == "float32"
    assert sc.argmax(sc.vector("f", dtype="float32")).dtype == "int64"


def test_methods_match_functions():
    x = sc.matrix("x")
    assert x.sum(axis=0) is sc.sum(x, axis=0)
    assert x.max(axis=-1, keepdims=True) is sc.max(x, axis=-1, keepdims=True)
    assert x.prod() is sc.prod(x)


@pytest.mark.parametrize("known", [True, False])
def test_empty_axes(backend, known):
    shape = (0, 3)
    v = sc.tensor("x", shape if known else (None, 3))
    x = np.zeros(shape)
    outs = [sc.sum(v, axis=0), sc.prod(v, axis=0), sc.sum(v), sc.max(v, axis=1)]
    outs += [sc.argmax(v, axis=1), sc.min(v, axis=-1, keepdims=True)]
    f = sc.function([v], outs, backend=backend)
    s0, p0, s, m1, a1, n1 = f(x)
    np.testing.assert_array_equal(s0, np.zeros(3))
    np.testing.assert_array_equal(p0, np.ones(3))
    assert s == 0.0 and m1.shape == (0,) and a1.shape == (0,) and n1.shape == (0, 1)
    for kind in ("max", "min", "argmax", "argmin"):
        if known:
            with pytest.raises(sc.SymcError, match=kind) as err:
                getattr(sc, kind)(v, axis=0)
            assert "(0, 3)" in str(err.value) and "test_reduce.py" in str(err.value)
        else:
            g = sc.function([v], getattr(sc, kind)(v, axis=0), backend=backend)
            with pytest.raises(sc.SymcError, match=kind) as err:
                g(x)
            assert "test_reduce.py" in str(err.value)


def test_axis_out_of_range_names_op_axis_shape_and_line():
    x = sc.tensor("x", (2, 3))
    for kind in KINDS:
        line = inspect.currentframe().f_lineno + 2
        with pytest.raises(sc.SymcValueError) as err:
            getattr(sc, kind)(x, axis=-3)
        msg = str(err.value)
        assert kind in msg and "-3" in msg and "(2, 3)" in msg, msg
        assert f"test_reduce.py:{line}" in msg, msg
    with pytest.raises(sc.SymcValueError, match="repeated"):
        sc.sum(x, axis=(1, -1))
    with pytest.raises(sc.SymcTypeError, match="axis"):
        sc.sum(x, axis=1.0)
    with pytest.raises(sc.SymcTypeError, match="argmax"):
        sc.argmax(x, axis=(0, 1))


# --- gradients ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sum", "prod", "max", "min", "mean", "var", "std"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_grad(backend, kind, axis, keepdims):
    rng = np.random.default_rng(abs(hash((kind, str(axis), keepdims))) % 2**32)
    # distinct entries: max/min have a unique winner, std is away from 0
    x = rng.permutation(24).reshape(2, 3, 4) / 7.0 - 1.5
    x = relayout(x, "fortran")
    sc.verify_grad(
        lambda v: getattr(sc, kind)(v, axis=axis, keepdims=keepdims), [x], rng=rng, backend=backend
    )


@pytest.mark.parametrize("zeros", [1, 2])
def test_prod_grad_with_zeros(backend, zeros):
    x = np.array([[2.0, 0.0, 3.0, -1.5], [0.5, 1.5, -2.0, 4.0], [1.0, 2.0, 0.5, 3.0]])
    if zeros == 2:
        x[0, 3] = 0.0
    for axis in (None, 1, 0):
        sc.verify_grad(lambda v, a=axis: sc.prod(v, axis=a), [x], backend=backend)
    v = sc.matrix("v")
    g = sc.function([v], sc.grad(sc.sum(sc.prod(v, axis=1)), v), backend=backend)(x)
    want = np.array([[np.prod(np.delete(row, j)) for j in range(4)] for row in x])
    np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("kind", ["max", "min"])
def test_max_min_ties_split_gradient_equally(backend, kind):
    v = sc.matrix("v")
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, -1.0, 4.0, 0.5]])
    if kind == "min":
        x = -x
    g = sc.function([v], sc.grad(sc.sum(getattr(sc, kind)(v, axis=1)), v), backend=backend)(x)
    want = np.array([[0, 0.5, 0.5, 0], [0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0]])
    np.testing.assert_array_equal(g, want)
    # two-way ties agree with central differences (each side moves the max half the time)
    pair = np.array([[1.0, 3.0, 3.0, 0.0]])
    pair = pair if kind == "max" else -pair
    sc.verify_grad(lambda w: getattr(sc, kind)(w, axis=1, keepdims=True), [pair], backend=backend)


def test_grad_of_reduction_with_symbolic_lengths(backend):
    v = sc.matrix("v")
    cost = sc.sum(sc.mean(v, axis=0) * sc.max(v, axis=1, keepdims=True))
    g = sc.grad(cost, v)
    x = np.array([[1.0, 2.0, 4.0], [3.0, -1.0, 0.5]])
    got = sc.function([v], g, backend=backend)(x)
    m0, m1 = x.mean(axis=0), x.max(axis=1, keepdims=True)
    want = np.broadcast_to(m1.sum() / 2, x.shape) + (x == m1) * m0.sum()
    np.testing.assert_allclose(got, want)


def test_var_std_ddof(backend):
    v = sc.matrix("v")
    x = np.arange(12.0).reshape(3, 4) ** 1.5
    f = sc.function([v], [sc.var(v, axis=1, ddof=1), sc.std(v, axis=0, ddof=1)], backend=backend)
    got_v, got_s = f(x)
    np.testing.assert_allclose(got_v, np.var(x, axis=1, ddof=1))
    np.testing.assert_allclose(got_s, np.std(x, axis=0, ddof=1))
    sc.verify_grad(lambda w: sc.std(w, axis=1, ddof=1), [x], backend=backend)


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_first_occurrence(backend, axis, keepdims):
    v = sc.matrix("v")
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])
    outs = [sc.argmax(v, axis, keepdims), sc.argmin(v, axis, keepdims)]
    f = sc.function([v], outs, backend=backend)
    a, b = f(relayout(x, "reversed"))
    np.testing.assert_array_equal(a, np.argmax(x, axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(b, np.argmin(x, axis=axis, keepdims=keepdims))
    assert sc.grad(sc.sum(v * sc.cast(sc.argmax(v, axis, keepdims), "float64")), v) is not None
