"""logsumexp / softmax / log_softmax against scipy.special: values, special values, gradients."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import scipy.special as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symc as sc

from .arrays import layouts, relayout, shapes, values

# the backend fixture is a constant name, so sharing it across examples is safe
_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

FUNCS = {
    "logsumexp": (sc.logsumexp, ss.logsumexp),
    "softmax": (sc.softmax, ss.softmax),
    "log_softmax": (sc.log_softmax, ss.log_softmax),
}

SPECIAL_ROWS = np.array(
    [
        [1000.0, 1000.0],
        [-1000.0, -1000.0],
        [1000.0, -1000.0],
        [-np.inf, -np.inf],
        [-np.inf, 3.0],
        [np.inf, 0.0],
        [np.inf, -np.inf],
        [np.inf, np.inf],
        [np.nan, 1.0],
        [0.0, -40.0],
        [0.0, 0.0],
    ]
)


def _scipy(name: str, x: np.ndarray, axis, keepdims: bool):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if name == "logsumexp":
            return np.asarray(ss.logsumexp(x, axis=axis, keepdims=keepdims))
        return np.asarray(FUNCS[name][1](x, axis=axis))


def _build(name: str, x, axis, keepdims: bool):
    if name == "logsumexp":
        return sc.logsumexp(x, axis=axis, keepdims=keepdims)
    return FUNCS[name][0](x, axis=axis)


def _tol(dtype, scale: float) -> dict:
    eps = 1e-5 if dtype == np.float32 else 1e-12
    return dict(rtol=eps, atol=eps * scale, equal_nan=True)


@st.composite
def axis_spec(draw, ndim: int):
    """None, an int (negatives too) or a tuple of distinct axes."""
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none" or ndim == 0:
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    return tuple(draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)))


@settings(max_examples=40, **_SETTINGS)
@given(
    name=st.sampled_from(sorted(FUNCS)),
    shape=shapes(0, 3, 0, 4),
    dt=st.sampled_from(["float32", "float64", "int64"]),
    scale=st.sampled_from([1.0, 400.0]),
    keepdims=st.booleans(),
    lay=layouts,
    data=st.data(),
)
def test_matches_scipy(backend, name, shape, dt, scale, keepdims, lay, data):
    axis = data.draw(axis_spec(len(shape)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = relayout(values(dt, shape, rng, -3 * scale, 3 * scale), lay)
    v = sc.tensor("x", tuple(1 if d == 1 else None for d in shape), dt)
    expr = _build(name, v, axis, keepdims)
    got = sc.function([v], expr, backend=backend)(x)
    if name == "logsumexp" and x.size == 0:
        # scipy special-cases empty arrays (wrong shapes, or an IndexError); the sum of
        # nothing is 0, so NumPy's plain formula is exact here
        with np.errstate(divide="ignore"):
            want = np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
    else:
        try:
            want = _scipy(name, x, axis, keepdims)
        except ValueError:
            # scipy's softmax refuses an empty axis (no maximum); symc returns the empty result
            assert got.size == 0 and got.shape == x.shape
            return
    if x.ndim == 0 and keepdims:
        want = want.reshape(())  # scipy gives shape (1,) here; NumPy's reductions give ()
    assert got.dtype == want.dtype == np.dtype(expr.dtype)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, **_tol(got.dtype, 3 * scale))


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_special_values_match_scipy(backend, name, dt):
    x = SPECIAL_ROWS.astype(dt)
    v = sc.matrix("x", dt)
    got = sc.function([v], _build(name, v, -1, False), backend=backend)(x)
    want = _scipy(name, x, -1, False)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, **_tol(got.dtype, 1.0))
    # the same rows along axis 0
    got0 = sc.function([v], _build(name, v.T, 0, False), backend=backend)(x)
    np.testing.assert_allclose(got0, _scipy(name, x.T, 0, False), **_tol(got.dtype, 1.0))


def test_documented_special_cases(backend):
    v = sc.vector("v")
    f = sc.function([v], [sc.logsumexp(v), sc.softmax(v), sc.log_softmax(v)], backend=backend)
    lse, s, ls = f(np.array([-np.inf, -np.inf]))
    assert lse == -np.inf and np.isnan(s).all() and np.isnan(ls).all()
    lse, s, ls = f(np.array([1000.0, 1000.0]))
    assert lse == pytest.approx(1000 + math.log(2), rel=1e-15)
    np.testing.assert_array_equal(s, [0.5, 0.5])
    np.testing.assert_allclose(ls, [-math.log(2)] * 2, rtol=1e-15)
    lse, s, ls = f(np.array([-1000.0, -1000.0, -np.inf]))
    assert lse == pytest.approx(-1000 + math.log(2), rel=1e-15)
    np.testing.assert_array_equal(s, [0.5, 0.5, 0.0])
    assert ls[2] == -np.inf


@pytest.mark.parametrize(
    "dt, x, want",
    [
        ("float64", [0.0, -40.0], math.log1p(math.exp(-40.0))),
        ("float64", [5.0, 5.0, 5.0 - 50.0], 5.0 + math.log(2 + math.exp(-50.0))),
        ("float32", [0.0, -20.0], math.log1p(math.exp(-20.0))),
    ],
)
def test_logsumexp_keeps_digits_when_one_term_dominates(backend, dt, x, want):
    # log(1 + tiny) would round to 0 (to log 2 in the tie); log1p of the rest keeps it
    v = sc.vector("v", dt)
    got = sc.function([v], sc.logsumexp(v), backend=backend)(np.array(x, dtype=dt))
    assert got.dtype == np.dtype(dt)
    np.testing.assert_allclose(got, want, rtol=1e-6 if dt == "float32" else 1e-15)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_large_inputs_have_finite_gradients(backend, dt):
    from symc import grad

    v = sc.vector("v", dt)
    w = np.array([1.0, -2.0, 0.5], dtype=dt)
    costs = [sc.logsumexp(v), sc.sum(sc.softmax(v) * w), sc.sum(sc.log_softmax(v) * w)]
    f = sc.function([v], [grad(c, v) for c in costs], backend=backend)
    x = np.array([1000.0, 1000.0, -1000.0], dtype=dt)
    g_lse, g_s, g_ls = f(x)
    for g in (g_lse, g_s, g_ls):
        assert g.dtype == np.dtype(dt) and np.isfinite(g).all()
    s = np.array([0.5, 0.5, 0.0])
    np.testing.assert_allclose(g_lse, s, atol=1e-7)
    np.testing.assert_allclose(g_s, s * (w - s @ w), atol=1e-6)
    np.testing.assert_allclose(g_ls, w - s * w.sum(), atol=1e-6)


def test_integer_input_becomes_float(backend):
    v = sc.ivector("i")
    x = np.array([1, 2, 3])
    got = sc.function([v], sc.softmax(v), backend=backend)(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ss.softmax(x), rtol=1e-14)


def test_float32_stays_float32():
    v = sc.vector("v", "float32")
    assert {sc.logsumexp(v).dtype, sc.softmax(v).dtype, sc.log_softmax(v).dtype} == {"float32"}


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_bad_axis_names_op_shape_and_line(name):
    m = sc.matrix("m", shape=(2, 3))
    with pytest.raises(sc.SymcValueError) as info:
        line = inspect.currentframe().f_lineno + 1
        FUNCS[name][0](m, axis=2)
    msg = str(info.value)
    assert msg.startswith(f"{name}: axis 2 is out of range")
    assert "(2, 3)" in msg
    assert f"test_special.py:{line}" in msg
    with pytest.raises(sc.SymcValueError, match=name):
        _build(name, sc.scalar("s"), -1, False)  # the default axis -1 needs an axis


CASES = [
    ("logsumexp", (4,), -1, False),
    ("logsumexp", (2, 3), 0, True),
    ("logsumexp", (2, 3, 2), (0, 2), False),
    ("logsumexp", (2, 3, 2), (0, 2), True),
    ("logsumexp", (2, 3), None, False),
    ("softmax", (4,), -1, False),
    ("softmax", (2, 3), 0, False),
    ("softmax", (2, 3, 2), (1, 2), False),
    ("softmax", (2, 3), None, False),
    ("log_softmax", (4,), -1, False),
    ("log_softmax", (2, 3), 0, False),
    ("log_softmax", (2, 3, 2), (0, 2), False),
    ("log_softmax", (2, 3), None, False),
]


@pytest.mark.parametrize("name, shape, axis, keepdims", CASES)
def test_gradients(backend, name, shape, axis, keepdims):
    rng = np.random.default_rng(len(shape) * 7 + len(name))
    x = rng.standard_normal(shape) * 2
    sc.verify_grad(lambda t: _build(name, t, axis, keepdims), [x], rng=rng, backend=backend)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_gradients_float32(backend, name):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3)).astype("float32")
    sc.verify_grad(lambda t: _build(name, t, -1, False), [x], rng=rng, backend=backend)


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_gradients_at_large_inputs(backend, name):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3)) + np.array([[800.0], [-800.0]])
    sc.verify_grad(lambda t: _build(name, t, -1, False), [x], rng=rng, backend=backend)


def test_hessian_of_logsumexp(backend):
    v = sc.vector("v", length=3)
    x = np.array([0.3, -1.0, 2.0])
    h = sc.function([v], sc.hessian(sc.logsumexp(v), v), backend=backend)(x)
    s = ss.softmax(x)
    np.testing.assert_allclose(h, np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-15)


def test_log_softmax_keeps_the_digits_of_a_dominant_entry(backend):
    x = sc.vector("x")
    f = sc.function([x], sc.log_softmax(x), backend=backend)
    got = f(np.array([0.0, -100.0]))
    # log(1 / (1 + e^-100)) = -e^-100 to double precision; a log(sum) form gives 0
    np.testing.assert_allclose(got, [-np.exp(-100.0), -100.0], rtol=1e-15)
