"""matmul / dot / tensordot / outer against NumPy: values, dtypes, errors and gradients."""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symc as sc

from .arrays import layouts, relayout, values

DTYPES = ["float32", "float64", "int64"]
# the backend fixture is a constant name, so sharing it across examples is safe
_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _line() -> int:
    """The caller's line number plus one: the line the statement under test is on."""
    return inspect.currentframe().f_back.f_lineno + 1


def _sym(name: str, arr: np.ndarray, static: bool):
    """A symbolic input for ``arr``: its exact shape, or only its length-1 axes known."""
    shape = arr.shape if static else tuple(1 if d == 1 else None for d in arr.shape)
    return sc.tensor(name, shape, arr.dtype.name)


def _assert_close(got: np.ndarray, want: np.ndarray, inner: int) -> None:
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind in "iub":
        np.testing.assert_array_equal(got, want)
        return
    # a float32 sum of `inner` products may be off by ~eps * inner of the terms' size
    rtol = (1e-5 if want.dtype == np.float32 else 1e-12) * max(inner, 1)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=10 * rtol)


@st.composite
def matmul_case(draw):
    """Two shapes ``np.matmul`` accepts: 1-4 dims, batch axes of length 0-3 or broadcast 1."""
    nd_a, nd_b = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    n, k, m = (draw(st.integers(0, 3)) for _ in range(3))
    batch = draw(st.lists(st.integers(0, 3), min_size=4, max_size=4))

    def shape(nd: int, rows: tuple) -> tuple:
        if nd == 1:
            return (k,)
        lead = batch[len(batch) - (nd - 2) :] if nd > 2 else []
        lead = [1 if draw(st.booleans()) else d for d in lead]
        return (*lead, *rows)

    return shape(nd_a, (n, k)), shape(nd_b, (k, m)), k


@settings(max_examples=40, **_SETTINGS)
@given(
    case=matmul_case(),
    dts=st.tuples(st.sampled_from(DTYPES), st.sampled_from(DTYPES)),
    lay=st.tuples(layouts, layouts),
    static=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_matmul_matches_numpy(backend, case, dts, lay, static, seed):
    sa, sb, k = case
    rng = np.random.default_rng(seed)
    a = relayout(values(dts[0], sa, rng), lay[0])
    b = relayout(values(dts[1], sb, rng), lay[1])
    x, y = _sym("a", a, static), _sym("b", b, static)
    expr = x @ y
    want = np.matmul(a, b)
    assert expr.dtype == want.dtype.name
    assert all(s is None or s == w for s, w in zip(expr.shape, want.shape, strict=True))
    got = sc.function([x, y], expr, backend=backend)(a, b)
    _assert_close(got, want, k)


@st.composite
def dot_case(draw):
    """Two shapes ``np.dot`` accepts, 0-4 dims each (no broadcasting in dot)."""
    nd_a, nd_b = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    k = draw(st.integers(0, 3))

    def free(count: int) -> list:
        return draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))

    if nd_a == 0 or nd_b == 0:
        return tuple(free(nd_a)), tuple(free(nd_b)), 1
    sa = (*free(nd_a - 1), k)
    sb = (k,) if nd_b == 1 else (*free(nd_b - 2), k, *free(1))
    return sa, sb, k


@settings(max_examples=40, **_SETTINGS)
@given(
    case=dot_case(),
    dt=st.sampled_from(DTYPES),
    lay=st.tuples(layouts, layouts),
    static=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_dot_matches_numpy(backend, case, dt, lay, static, seed):
    sa, sb, k = case
    rng = np.random.default_rng(seed)
    a = relayout(values(dt, sa, rng), lay[0])
    b = relayout(values(dt, sb, rng), lay[1])
    x, y = _sym("a", a, static), _sym("b", b, static)
    want = np.asarray(np.dot(a, b))
    got = sc.function([x, y], sc.dot(x, y), backend=backend)(a, b)
    _assert_close(got, want, k)


@st.composite
def tensordot_case(draw):
    """Two shapes and an ``axes`` argument (an int or a pair of lists, negatives allowed)."""
    sa = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=4)))
    free_b = draw(st.lists(st.integers(0, 3), min_size=0, max_size=2))
    n = draw(st.integers(0, len(sa)))
    if draw(st.booleans()):
        sb = (*sa[len(sa) - n :], *free_b)
        axes = n
    else:
        ax_a = draw(st.permutations(range(len(sa))))[:n]
        sb_list = list(free_b)
        ax_b = []
        for _ in ax_a:
            pos = draw(st.integers(0, len(sb_list)))
            sb_list.insert(pos, None)
            ax_b = [j + (j >= pos) for j in ax_b] + [pos]
        for i, j in zip(ax_a, ax_b, strict=True):
            sb_list[j] = sa[i]
        sb = tuple(sb_list)
        neg = draw(st.booleans())
        axes = ([i - len(sa) if neg else i for i in ax_a], list(ax_b))
    return sa, sb, axes


@settings(max_examples=40, **_SETTINGS)
@given(
    case=tensordot_case(),
    dt=st.sampled_from(DTYPES),
    lay=layouts,
    static=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_tensordot_matches_numpy(backend, case, dt, lay, static, seed):
    sa, sb, axes = case
    rng = np.random.default_rng(seed)
    a = relayout(values(dt, sa, rng), lay)
    b = values(dt, sb, rng)
    x, y = _sym("a", a, static), _sym("b", b, static)
    want = np.tensordot(a, b, axes)
    got = sc.function([x, y], sc.tensordot(x, y, axes), backend=backend)(a, b)
    _assert_close(got, want, 27)  # at most 3 * 3 * 3 terms per sum


@settings(max_examples=25, **_SETTINGS)
@given(
    sa=st.lists(st.integers(0, 3), max_size=3).map(tuple),
    sb=st.lists(st.integers(0, 3), max_size=3).map(tuple),
    dts=st.tuples(st.sampled_from(DTYPES), st.sampled_from(DTYPES)),
    static=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_outer_matches_numpy(backend, sa, sb, dts, static, seed):
    rng = np.random.default_rng(seed)
    a, b = values(dts[0], sa, rng), values(dts[1], sb, rng)
    x, y = _sym("a", a, static), _sym("b", b, static)
    got = sc.function([x, y], sc.outer(x, y), backend=backend)(a, b)
    _assert_close(got, np.outer(a, b), 1)


def test_bool_and_mixed_dtypes_follow_numpy(backend):
    rng = np.random.default_rng(0)
    p, q = rng.random((3, 4)) < 0.5, rng.random((4, 2)) < 0.5
    x, y = sc.matrix("p", "bool"), sc.matrix("q", "bool")
    _assert_close(sc.function([x, y], x @ y, backend=backend)(p, q), np.matmul(p, q), 4)
    i, f = np.arange(12).reshape(3, 4), rng.random(4).astype("float32")
    x, y = sc.imatrix("i"), sc.vector("f", "float32")
    _assert_close(sc.function([x, y], x @ y, backend=backend)(i, f), i @ f, 4)


def test_numpy_operands_and_methods(backend):
    m = np.arange(6.0).reshape(2, 3)
    v = sc.vector("v", length=3)
    w = np.array([1.0, -2.0, 0.5])
    f = sc.function([v], [m @ v, v @ m.T, v.dot(w)], backend=backend)
    got = f(w)
    np.testing.assert_allclose(got[0], m @ w)
    np.testing.assert_allclose(got[1], w @ m.T)
    np.testing.assert_allclose(got[2], w @ w)


# --- errors --------------------------------------------------------------------


def test_matmul_inner_mismatch_names_op_shapes_and_line():
    a, b = sc.matrix("a", shape=(3, 4)), sc.matrix("b", shape=(5, 2))
    with pytest.raises(sc.SymcShapeError) as info:
        line = _line()
        a @ b
    msg = str(info.value)
    assert msg.startswith("matmul: cannot multiply (3, 4) by (5, 2): inner lengths 4 and 5 differ.")
    assert f"test_linalg.py:{line}" in msg


@pytest.mark.parametrize(
    "sa, sb, words",
    [
        ((4,), (5,), ["(4,) by (5,)", "4 and 5"]),
        ((2, 3, 4), (3,), ["(2, 3, 4) by (3,)", "4 and 3"]),
        ((2, 3, 4), (3, 4, 5), ["(2, 3, 4) by (3, 4, 5)", "batch"]),
        ((), (3,), ["0-d", "shape ()"]),
        ((3,), (), ["0-d", "shape ()"]),
    ],
)
def test_matmul_shape_errors(sa, sb, words):
    a, b = sc.tensor("a", sa), sc.tensor("b", sb)
    with pytest.raises(sc.SymcShapeError) as info:
        line = _line()
        sc.matmul(a, b)
    msg = str(info.value)
    assert msg.startswith("matmul: ")
    for w in words:
        assert w in msg
    assert f"test_linalg.py:{line}" in msg


def test_dot_and_tensordot_errors_name_their_op():
    a, b = sc.tensor("a", (2, 3, 4)), sc.tensor("b", (5, 4, 2))
    with pytest.raises(sc.SymcShapeError) as info:
        line = _line()
        sc.dot(a, sc.tensor("c", (5, 3, 2)))
    msg = str(info.value)
    assert msg.startswith("dot: cannot multiply (2, 3, 4) by (5, 3, 2): inner lengths 4 and 3")
    assert f"test_linalg.py:{line}" in msg
    with pytest.raises(sc.SymcShapeError) as info:
        line = _line()
        sc.tensordot(a, b, axes=([0], [0]))
    msg = str(info.value)
    assert "tensordot" in msg and "(2, 3, 4)" in msg and "(5, 4, 2)" in msg
    assert f"test_linalg.py:{line}" in msg
    with pytest.raises(sc.SymcValueError, match="tensordot"):
        sc.tensordot(a, b, axes=([0, 1], [0]))
    with pytest.raises(sc.SymcValueError, match="tensordot: axis 3 is out of range"):
        sc.tensordot(a, b, axes=([3], [0]))
    with pytest.raises(sc.SymcValueError, match="tensordot"):
        sc.tensordot(a, b, axes=4)


def test_dot_error_with_matching_inner_lengths_is_not_raised():
    # 3-D x 3-D dot contracts a's last axis with b's second-to-last: 4 and 4 agree
    a, b = sc.tensor("a", (2, 3, 4)), sc.tensor("b", (5, 4, 2))
    assert sc.dot(a, b).shape == (2, 3, 5, 2)


def test_run_time_shape_errors(backend):
    x, y = sc.matrix("x"), sc.matrix("y")
    f = sc.function([x, y], x @ y, backend=backend)
    with pytest.raises(sc.SymcShapeError) as info:
        f(np.ones((3, 4)), np.ones((5, 2)))
    assert "matmul: cannot multiply (3, 4) by (5, 2): inner lengths 4 and 5 differ." in str(
        info.value
    )
    # an unknown batch length that arrives as 1 must not broadcast: it was typed as not 1
    t, u = sc.tensor("t", (None, 2, 3)), sc.tensor("u", (None, 3, 2))
    g = sc.function([t, u], t @ u, backend=backend)
    with pytest.raises(sc.SymcShapeError, match="does not broadcast"):
        g(np.ones((1, 2, 3)), np.ones((4, 3, 2)))
    with pytest.raises(sc.SymcShapeError, match="matmul"):
        g(np.ones((2, 2, 3)), np.ones((4, 3, 2)))


# --- gradients -----------------------------------------------------------------

# batch shapes chosen so that every pair broadcasts and both sides have length-1 axes
_A_BATCH = {1: None, 2: (), 3: (2,), 4: (1, 2)}
_B_BATCH = {1: None, 2: (), 3: (1,), 4: (3, 1)}


def _grad_shape(batch, rows, k):
    return (k,) if batch is None else (*batch, *rows)


@pytest.mark.parametrize("nd_a, nd_b", list(itertools.product(range(1, 5), repeat=2)))
def test_matmul_gradient_every_rank(backend, nd_a, nd_b):
    rng = np.random.default_rng(nd_a * 10 + nd_b)
    a = rng.standard_normal(_grad_shape(_A_BATCH[nd_a], (2, 3), 3))
    b = rng.standard_normal(_grad_shape(_B_BATCH[nd_b], (3, 2), 3))
    sc.verify_grad(lambda x, y: x @ y, [a, b], rng=rng, backend=backend)


def test_matmul_gradient_float32(backend):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3)).astype("float32")
    b = rng.standard_normal((3,)).astype("float32")
    sc.verify_grad(lambda x, y: sc.tanh(x @ y), [a, b], rng=rng, backend=backend)


def test_matmul_gradient_with_unknown_batch_lengths(backend):
    from symc import grad

    t, u = sc.tensor("t", (None, 2, 3)), sc.tensor("u", (1, 3, 2))
    gt, gu = grad(sc.sum(t @ u), [t, u])
    assert gu.shape == (1, 3, 2)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((1, 3, 2))
    got_t, got_u = sc.function([t, u], [gt, gu], backend=backend)(a, b)
    ones = np.ones((4, 2, 2))
    np.testing.assert_allclose(got_t, ones @ np.swapaxes(b, -1, -2), rtol=1e-12)
    np.testing.assert_allclose(
        got_u, np.sum(np.swapaxes(a, -1, -2) @ ones, axis=0, keepdims=True), rtol=1e-12
    )


@pytest.mark.parametrize(
    "sa, sb",
    [((), (2, 3)), ((3,), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3, 2)),
     ((2, 2, 3), (3, 2)), ((2, 3), (2, 3, 2)), ((2, 1, 3), (2, 3, 2))],
)  # fmt: skip
def test_dot_gradient(backend, sa, sb):
    rng = np.random.default_rng(len(sa) * 10 + len(sb))
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    sc.verify_grad(sc.dot, [a, b], rng=rng, backend=backend)


@pytest.mark.parametrize(
    "sa, sb, axes",
    [((2, 3, 2), (3, 2, 2), 2), ((2, 3), (3, 2), 0), ((2, 3, 2), (3, 2, 2), ([0, 1], [2, 0])),
     ((3, 2), (2, 3), ([-1], [0]))],
)  # fmt: skip
def test_tensordot_gradient(backend, sa, sb, axes):
    rng = np.random.default_rng(len(sa) + len(sb))
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    sc.verify_grad(lambda x, y: sc.tensordot(x, y, axes), [a, b], rng=rng, backend=backend)


def test_outer_gradient(backend):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 2)), rng.standard_normal(3)
    sc.verify_grad(sc.outer, [a, b], rng=rng, backend=backend)


def test_second_derivative_through_matmul(backend):
    m = np.array([[1.0, 2.0, 0.5], [-1.0, 0.3, 2.0]])
    v = sc.vector("v", length=3)
    h = sc.hessian(sc.sum(sc.softplus(sc.constant(m) @ v)), v)
    x = np.array([0.1, -0.2, 0.3])
    s = 1 / (1 + np.exp(-(m @ x)))
    want = m.T @ np.diag(s * (1 - s)) @ m
    np.testing.assert_allclose(sc.function([v], h, backend=backend)(x), want, rtol=1e-10)
