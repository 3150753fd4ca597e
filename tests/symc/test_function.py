"""Compiled functions: shared variables and updates, and the checks on call arguments."""

from __future__ import annotations

import numpy as np
import pytest

import symc as sc


def test_sgd_least_squares_converges_to_lstsq(backend):
    rng = np.random.default_rng(0)
    n, d = 40, 3
    Xv = rng.normal(size=(n, d))
    yv = Xv @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.normal(size=n)
    X, y = sc.matrix("X"), sc.vector("y")
    w = sc.shared(np.zeros(d), name="w")
    b = sc.shared(np.zeros((1,)), name="b")
    pred = sc.sum(X * w, axis=1) + b
    cost = sc.mean((pred - y) ** 2)
    gw, gb = sc.grad(cost, [w, b])
    step = sc.function(
        [X, y], cost, updates=[(w, w - 0.1 * gw), (b, b - 0.1 * gb)], backend=backend
    )
    costs = [float(step(Xv, yv)) for _ in range(300)]
    A = np.hstack([Xv, np.ones((n, 1))])
    ref, *_ = np.linalg.lstsq(A, yv, rcond=None)
    np.testing.assert_allclose(w.get_value(), ref[:d], atol=1e-6)
    np.testing.assert_allclose(b.get_value(), ref[d:], atol=1e-6)
    assert costs[-1] < costs[0]
    np.testing.assert_allclose(costs[-1], np.mean((A @ ref - yv) ** 2), rtol=1e-8)


def test_outputs_see_old_shared_values(backend):
    s = sc.shared(np.array([1.0, 2.0]), name="s")
    x = sc.vector("x")
    f = sc.function([x], [s, s * x], updates=[(s, s + x)], backend=backend)
    old_s, prod = f(np.array([10.0, 20.0]))
    np.testing.assert_array_equal(old_s, [1.0, 2.0])
    np.testing.assert_array_equal(prod, [10.0, 40.0])
    np.testing.assert_array_equal(s.get_value(), [11.0, 22.0])
    old_s2, _ = f(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(old_s2, [11.0, 22.0])
    # the returned array is not the shared storage: editing it changes nothing
    old_s2[:] = -1
    np.testing.assert_array_equal(s.get_value(), [12.0, 23.0])


def test_updates_read_old_values_of_each_other(backend):
    a = sc.shared(np.array(1.0), name="a")
    b = sc.shared(np.array(2.0), name="b")
    swap = sc.function([], [], updates={a: b, b: a}, backend=backend)
    swap()
    assert a.get_value() == 2.0 and b.get_value() == 1.0


def test_updates_as_dict(backend):
    count = sc.shared(np.array(0, dtype="int64"), name="count")
    total = sc.shared(np.array(0.0), name="total")
    x = sc.scalar("x")
    f = sc.function([x], x * 2, updates={count: count + 1, total: total + x}, backend=backend)
    for v in (1.0, 2.0, 3.5):
        f(v)
    assert count.get_value() == 3 and count.get_value().dtype == np.int64
    assert total.get_value() == 6.5


def test_update_is_cast_to_the_shared_dtype(backend):
    s = sc.shared(np.zeros(2, dtype="float32"), name="s")
    x = sc.vector("x")  # float64
    f = sc.function([x], [], updates=[(s, s + x)], backend=backend)
    f(np.array([0.5, 1.5]))
    assert s.get_value().dtype == np.float32
    np.testing.assert_array_equal(s.get_value(), np.array([0.5, 1.5], "float32"))


def test_single_output_returns_array_list_returns_list(backend):
    x = sc.vector("x")
    one = sc.function([x], x + 1, backend=backend)(np.zeros(2))
    assert isinstance(one, np.ndarray)
    many = sc.function([x], [x + 1], backend=backend)(np.zeros(2))
    assert isinstance(many, list) and len(many) == 1


def test_output_does_not_alias_the_argument(backend):
    x = sc.vector("x")
    a = np.array([1.0, 2.0])
    out = sc.function([x], x, backend=backend)(a)
    np.testing.assert_array_equal(out, a)
    out[0] = 5.0
    assert a[0] == 1.0


def test_constant_output(backend):
    x = sc.vector("x")
    f = sc.function([x], [x * 0 + 1, sc.constant(np.arange(3.0))], backend=backend)
    out = f(np.zeros(2))
    np.testing.assert_array_equal(out[1], np.arange(3.0))
    out[1][0] = 7.0  # a constant is handed out as a fresh array
    np.testing.assert_array_equal(f(np.zeros(2))[1], np.arange(3.0))


# ---------------------------------------------------------------- argument checks


def test_argument_count(backend):
    x, y = sc.vector("x"), sc.scalar("y")
    f = sc.function([x, y], x * y, backend=backend)
    with pytest.raises(sc.SymcInputError, match="expected 2 arguments"):
        f(np.zeros(2))
    with pytest.raises(sc.SymcInputError, match="got 3"):
        f(np.zeros(2), 1.0, 2.0)


def test_int_passed_for_float_is_accepted(backend):
    x = sc.vector("x")
    out = sc.function([x], x / 2, backend=backend)(np.array([1, 2, 3]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [0.5, 1.0, 1.5])


def test_float64_passed_for_float32_is_accepted(backend):
    x = sc.vector("x", dtype="float32")
    out = sc.function([x], x * 2, backend=backend)(np.array([1.5, 2.5]))
    assert out.dtype == np.float32


def test_float_passed_for_int_is_refused(backend):
    i = sc.ivector("i")
    f = sc.function([i], i + 1, backend=backend)
    with pytest.raises(sc.SymcTypeError, match="int64"):
        f(np.array([1.0, 2.0]))
    with pytest.raises(sc.SymcTypeError):
        f([1.5])
    np.testing.assert_array_equal(f([1, 2]), [2, 3])


def test_bool_input_refuses_ints(backend):
    c = sc.tensor("c", shape=(None,), dtype="bool")
    f = sc.function([c], sc.logical_not(c), backend=backend)
    np.testing.assert_array_equal(f(np.array([True, False])), [False, True])
    with pytest.raises(sc.SymcTypeError):
        f(np.array([1, 0]))


def test_wrong_ndim_is_refused(backend):
    M = sc.matrix("M")
    f = sc.function([M], M * 2, backend=backend)
    with pytest.raises(sc.SymcShapeError, match="2 dimensions"):
        f(np.zeros(3))
    with pytest.raises(sc.SymcShapeError, match="2 dimensions"):
        f(np.zeros((1, 2, 3)))


def test_static_length_is_enforced(backend):
    T = sc.tensor("T", shape=(None, 3))
    f = sc.function([T], T + 1, backend=backend)
    assert f(np.zeros((5, 3))).shape == (5, 3)
    with pytest.raises(sc.SymcShapeError, match="axis 1 has length 4, not 3"):
        f(np.zeros((5, 4)))


def test_python_scalars_and_lists(backend):
    x, v = sc.scalar("x"), sc.vector("v")
    i = sc.iscalar("i")
    f = sc.function([x, v, i], x * v + i, backend=backend)
    out = f(2, [1.0, 2.0, 3.0], 1)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [3.0, 5.0, 7.0])
    np.testing.assert_array_equal(f(0.5, (2, 4), True), [2.0, 3.0])
    with pytest.raises(sc.SymcTypeError):
        f(1.0, [1.0], 2.5)  # a float for the int input
    with pytest.raises(sc.SymcShapeError):
        f([1.0, 2.0], [1.0], 1)  # a list for the scalar input


def test_input_shared_or_constant_refused():
    w = sc.shared(np.zeros(2), name="w")
    with pytest.raises(sc.SymcInputError, match="shared variable"):
        sc.function([w], w * 2)
    with pytest.raises(sc.SymcInputError, match="listed twice"):
        x = sc.vector("x")
        sc.function([x, x], x * 2)


def test_on_unused_input_ignore(backend):
    x, y = sc.vector("x"), sc.vector("y")
    f = sc.function([x, y], x * 2, on_unused_input="ignore", backend=backend)
    np.testing.assert_array_equal(f(np.ones(2), np.zeros(5)), [2.0, 2.0])


def test_function_without_inputs(backend):
    f = sc.function([], sc.arange(4) * 2, backend=backend)
    np.testing.assert_array_equal(f(), [0, 2, 4, 6])


def test_source_is_text(backend):
    x = sc.vector("x")
    f = sc.function([x], sc.exp(x), backend=backend)
    assert isinstance(f.source, str) and "exp" in f.source


def test_rewrites_run_on_every_backend_and_can_be_turned_off(backend):
    x = sc.vector("x")
    naive = sc.log(1 + sc.exp(x))  # overflows as written at x = 800
    xv = np.array([800.0, 0.0])
    optimized = sc.function([x], naive, backend=backend)(xv)
    np.testing.assert_allclose(optimized, [800.0, np.log(2.0)])
    as_written = sc.function([x], naive, backend=backend, rewrites=False)(xv)
    assert np.isinf(as_written[0])
    excluded = sc.function([x], naive, backend=backend, rewrites=dict(exclude=["stabilize"]))
    assert np.isinf(excluded(xv)[0])


def test_rewrites_option_is_checked():
    x = sc.vector("x")
    with pytest.raises(sc.SymcValueError, match="rewrites must be"):
        sc.function([x], x, backend="python", rewrites=dict(excluded=["fuse"]))
