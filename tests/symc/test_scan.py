"""``sc.scan``: the classic loops against NumPy, gradients through loops, and user mistakes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symc as sc
from symc.ops.scan import Loop

from .arrays import layouts, relayout, values

HERE = "test_scan.py"


def fn(inputs, outputs, backend, **kw):
    return sc.function(inputs, outputs, backend=backend, **kw)


# --- the classic examples ---------------------------------------------------------------


@pytest.mark.parametrize("k", [0, 1, 5])
def test_matrix_power_by_repeated_multiplication(backend, k):
    A = sc.matrix("A")
    n = sc.iscalar("n")
    powers, _ = sc.scan(
        lambda p, a: p @ a, outputs_info=sc.ones_like(A), non_sequences=A, n_steps=n
    )
    rng = np.random.default_rng(k)
    a = rng.normal(size=(3, 3))
    got = fn([A, n], powers, backend)(a, k)
    want = [np.ones((3, 3))]
    for _ in range(k):
        want.append(want[-1] @ a)
    assert got.shape == (k, 3, 3) and got.dtype == np.float64
    np.testing.assert_allclose(got, np.array(want[1:]).reshape(k, 3, 3), rtol=1e-12)


def test_elementwise_power_with_last_row(backend):
    a = sc.vector("a")
    k = sc.iscalar("k")
    powers, _ = sc.scan(
        lambda p, a: p * a, outputs_info=sc.ones_like(a), non_sequences=a, n_steps=k
    )
    last = powers[-1]
    got = fn([a, k], last, backend)(np.arange(1.0, 5.0), 3)
    np.testing.assert_allclose(got, np.arange(1.0, 5.0) ** 3)


def test_polynomial_from_coefficients_uses_the_shortest_sequence(backend):
    coeffs = sc.vector("coeffs")
    x = sc.scalar("x")
    # arange(100) is longer than coeffs: the loop runs len(coeffs) steps (Theano's rule)
    terms, _ = sc.scan(
        lambda c, p, x: c * x**p,
        sequences=[coeffs, sc.arange(100, dtype="float64")],
        non_sequences=x,
    )
    poly = sc.sum(terms)
    c = np.array([1.0, 0.0, 2.0, -3.0])
    got = fn([coeffs, x], [terms, poly], backend)(c, 3.0)
    assert got[0].shape == (4,)
    np.testing.assert_allclose(got[1], np.polyval(c[::-1], 3.0))


def test_fibonacci_with_two_taps(backend):
    init = sc.vector("init", dtype="int64")
    fib, _ = sc.scan(lambda a, b: a + b, outputs_info=dict(initial=init, taps=[-2, -1]), n_steps=10)
    got = fn([init], fib, backend)(np.array([0, 1]))
    want = [0, 1]
    for _ in range(10):
        want.append(want[-2] + want[-1])
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want[2:])


def test_taps_with_a_gap_see_the_right_past_values(backend):
    init = sc.vector("init")
    # y_t = y_{t-3} - y_{t-1}, taps listed out of order
    ys, _ = sc.scan(
        lambda y1, y3: y3 - y1, outputs_info=dict(initial=init, taps=[-1, -3]), n_steps=6
    )
    got = fn([init], ys, backend)(np.array([1.0, 2.0, 4.0]))
    want = [1.0, 2.0, 4.0]
    for _ in range(6):
        want.append(want[-3] - want[-1])
    np.testing.assert_allclose(got, want[3:])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(0, 6), dtype=st.sampled_from(["float32", "float64", "int64"]))
def test_cumulative_sum_matches_numpy(backend, n, dtype):
    x = sc.vector("x", dtype=dtype)
    zero = sc.constant(np.zeros((), dtype=dtype))
    out, updates = sc.scan(lambda xt, acc: acc + xt, sequences=x, outputs_info=zero)
    assert updates == {}
    v = (np.arange(n) * 1.5 - 2).astype(dtype)
    got = fn([x], out, backend)(v)
    assert got.dtype == np.dtype(dtype) and got.shape == (n,)
    np.testing.assert_allclose(got, np.cumsum(v, dtype=dtype), rtol=1e-6)


def test_n_steps_only_generation(backend):
    x0 = sc.scalar("x0")
    n = sc.iscalar("n")
    seq, _ = sc.scan(lambda x: 0.5 * x + 1, outputs_info=x0, n_steps=n)
    f = fn([x0, n], seq, backend)
    want, v = [], 3.0
    for _ in range(7):
        v = 0.5 * v + 1
        want.append(v)
    np.testing.assert_allclose(f(3.0, 7), want)
    assert f(3.0, 0).shape == (0,)


def test_until_stops_after_the_step_where_the_condition_holds(backend):
    limit = sc.scalar("limit")

    def step(p):
        q = p * 2
        return q, sc.until(q > limit)

    powers, _ = sc.scan(step, outputs_info=sc.constant(1.0), n_steps=50)
    assert powers.type.shape == (None,)  # fewer rows than n_steps, known only at run time
    f = fn([limit], powers, backend)
    np.testing.assert_allclose(f(100.0), [2, 4, 8, 16, 32, 64, 128])
    np.testing.assert_allclose(f(1e30), 2.0 ** np.arange(1, 51))  # never stops early


def test_body_reads_a_shared_variable(backend):
    w = sc.shared(np.array([1.0, 2.0]), name="w")
    x = sc.matrix("x")
    out, updates = sc.scan(lambda row: sc.sum(row * w), sequences=x)
    assert updates == {}
    f = fn([x], out, backend)
    a = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(f(a), a @ [1.0, 2.0])
    w.set_value(np.array([-1.0, 0.5]))  # read at call time, not baked into the loop
    np.testing.assert_allclose(f(a), a @ [-1.0, 0.5])


def test_updates_returned_by_the_body(backend):
    count = sc.shared(np.array(0, dtype="int64"), name="count")
    total = sc.shared(np.array(0.0), name="total")
    x = sc.vector("x")

    def step(xt):
        # each step sees what the previous step wrote
        return total + xt, {count: count + 1, total: total + xt}

    running, updates = sc.scan(step, sequences=x)
    assert set(updates) == {count, total}
    f = fn([x], running, backend, updates=updates)
    np.testing.assert_allclose(f(np.array([1.0, 2.0, 3.0])), [1.0, 3.0, 6.0])
    assert count.get_value() == 3 and total.get_value() == 6.0
    np.testing.assert_allclose(f(np.array([10.0])), [16.0])
    assert count.get_value() == 4


def test_nested_scan(backend):
    X = sc.matrix("X")

    def row(r):
        cs, _ = sc.scan(lambda v, acc: acc + v, sequences=r, outputs_info=sc.constant(0.0))
        return cs

    out, _ = sc.scan(row, sequences=X)
    a = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(fn([X], out, backend)(a), np.cumsum(a, axis=1))


def test_nested_scan_reads_the_outer_step(backend):
    x = sc.vector("x")
    n = sc.iscalar("n")

    def outer(xt):
        # x_t ** 1 + ... + x_t ** n, built from an inner loop over the outer row
        ps, _ = sc.scan(lambda p: p * xt, outputs_info=sc.constant(1.0), n_steps=n)
        return sc.sum(ps)

    out, _ = sc.scan(outer, sequences=x)
    v = np.array([0.5, 2.0, -1.0])
    want = sum(v**k for k in range(1, 5))
    np.testing.assert_allclose(fn([x, n], out, backend)(v, 4), want)


def test_zero_steps_give_correctly_shaped_empty_outputs(backend):
    x = sc.matrix("x")
    h0 = sc.vector("h0")
    M = sc.matrix("M")
    (hs, sums, ys), _ = sc.scan(
        lambda r, h: [h + sc.sum(r), sc.sum(h), h @ M],
        sequences=x,
        outputs_info=[h0, None, None],
    )
    got = fn([x, h0, M], [hs, sums, ys], backend)(np.zeros((0, 2)), np.ones(3), np.ones((3, 5)))
    assert [g.shape for g in got] == [(0, 3), (0,), (0, 5)]
    assert all(g.dtype == np.float64 for g in got)


def test_several_outputs_not_fed_back(backend):
    x = sc.vector("x", dtype="float32")
    (doubled, shifted, flags), _ = sc.scan(lambda t: [t * 2, t + 1, t > 0], sequences=x)
    v = np.array([-1.0, 0.5, 2.0], dtype="float32")
    got = fn([x], [doubled, shifted, flags], backend)(v)
    np.testing.assert_allclose(got[0], v * 2)
    np.testing.assert_allclose(got[1], v + 1)
    np.testing.assert_array_equal(got[2], v > 0)
    assert [g.dtype for g in got] == [np.float32, np.float32, np.bool_]


def test_sequence_shorter_than_n_steps_raises_at_run_time(backend):
    x = sc.vector("x")
    k = sc.iscalar("k")
    out, _ = sc.scan(lambda t: t * 2, sequences=x, n_steps=k)
    f = fn([x, k], out, backend)
    np.testing.assert_allclose(f(np.arange(5.0), 3), [0, 2, 4])  # only the first rows are read
    with pytest.raises(sc.SymcShapeError, match=r"scan: sequence 0 has 3 rows.*5 steps") as err:
        f(np.zeros(3), 5)
    assert HERE in str(err.value)


def test_sequence_shorter_than_n_steps_raises_when_known(backend):
    x = sc.vector("x", length=3)
    with pytest.raises(sc.SymcShapeError, match=r"scan: sequence 0 .* 3 rows.* n_steps is 4"):
        sc.scan(lambda t: t * 2, sequences=x, n_steps=4)


def test_same_scan_built_twice_is_one_node():
    x = sc.vector("x")
    a, _ = sc.scan(lambda t, h: h + t, sequences=x, outputs_info=sc.constant(0.0))
    b, _ = sc.scan(lambda t, h: h + t, sequences=x, outputs_info=sc.constant(0.0))
    c, _ = sc.scan(lambda t, h: h * t, sequences=x, outputs_info=sc.constant(0.0))
    assert a is b
    assert c is not a
    assert isinstance(a.op, Loop) and a.op.loop_key() != c.op.loop_key()


# --- gradients ---------------------------------------------------------------------------


def _matvec(W, h):
    return W @ h


def _rnn(W, U, b, h0, X):
    hs, _ = sc.scan(
        lambda x, h: sc.tanh(_matvec(W, h) + _matvec(U, x) + b), sequences=X, outputs_info=h0
    )
    return hs


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    T=st.integers(0, 5),
    H=st.integers(1, 3),
    D=st.integers(1, 3),
    dtype=st.sampled_from(["float32", "float64"]),
    how=layouts,
    seed=st.integers(0, 2**16),
)
def test_rnn_forward_matches_numpy(backend, T, H, D, dtype, how, seed):
    rng = np.random.default_rng(seed)
    W, U, b, h0 = (values(dtype, s, rng, -1, 1) for s in [(H, H), (H, D), (H,), (H,)])
    X = relayout(values(dtype, (T, D), rng, -1, 1), how)
    syms = [sc.tensor(n, v.shape, dtype) for n, v in zip("WUbh", [W, U, b, h0], strict=True)]
    Xs = sc.matrix("X", dtype=dtype)
    got = fn([*syms, Xs], _rnn(*syms, Xs), backend)(W, U, b, h0, X)
    want, h = [], h0
    for x in X:
        h = np.tanh(W @ h + U @ x + b)
        want.append(h)
    assert got.dtype == np.dtype(dtype) and got.shape == (T, H)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, np.array(want, dtype=dtype).reshape(T, H), rtol=rtol, atol=rtol)


def test_verify_grad_tanh_rnn(backend):
    rng = np.random.default_rng(0)
    T, H, D = 4, 3, 2
    pts = [
        rng.normal(size=(H, H)) * 0.6,
        rng.normal(size=(H, D)),
        rng.normal(size=H),
        rng.normal(size=H),
        rng.normal(size=(T, D)),
    ]
    sc.verify_grad(_rnn, pts, backend=backend)


def test_rnn_gradient_of_last_state_matches_numpy_bptt(backend):
    rng = np.random.default_rng(1)
    W, U, b, h0, X = (
        rng.normal(size=(3, 3)) * 0.5,
        rng.normal(size=(3, 2)),
        rng.normal(size=3),
        rng.normal(size=3),
        rng.normal(size=(5, 2)),
    )
    syms = [sc.matrix("W"), sc.matrix("U"), sc.vector("b"), sc.vector("h0"), sc.matrix("X")]
    hs = _rnn(*syms)
    cost = sc.sum(hs[-1])
    grads = sc.grad(cost, syms)
    got = fn(syms, grads, backend)(W, U, b, h0, X)
    states = [h0]
    for x in X:
        states.append(np.tanh(W @ states[-1] + U @ x + b))
    a = np.ones(3)
    gW, gU, gb, gX = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b), np.zeros_like(X)
    for t in reversed(range(len(X))):
        d = a * (1 - states[t + 1] ** 2)
        gW += np.outer(d, states[t])
        gU += np.outer(d, X[t])
        gb += d
        gX[t] = U.T @ d
        a = W.T @ d
    for g, w in zip(got, [gW, gU, gb, a, gX], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_grad_through_until_and_unread_rows(backend):
    def f(x):
        hs, _ = sc.scan(
            lambda t, h: (h * 0.9 + sc.sin(t), sc.until(h > 1.5)),
            sequences=x,
            outputs_info=sc.constant(0.0),
        )
        return hs

    sc.verify_grad(f, [np.linspace(0.5, 1.5, 8)], backend=backend)


def test_grad_wrt_shared_closure_variable_and_non_sequence(backend):
    w = sc.shared(np.array(0.7), name="w")
    x = sc.vector("x")
    a = sc.scalar("a")
    hs, _ = sc.scan(
        lambda t, h, a: sc.tanh(h * w + t * a),
        sequences=x,
        outputs_info=sc.constant(0.1),
        non_sequences=a,
    )
    gw, ga = sc.grad(sc.sum(hs), [w, a])
    f = fn([x, a], [gw, ga], backend)
    v, av = np.array([0.3, -0.2, 0.5]), 1.3

    def cost(wv, av):
        h, s = 0.1, 0.0
        for t in v:
            h = np.tanh(h * wv + t * av)
            s += h
        return s

    eps = 1e-6
    got = f(v, av)
    np.testing.assert_allclose(
        got[0], (cost(0.7 + eps, av) - cost(0.7 - eps, av)) / (2 * eps), rtol=1e-6
    )
    np.testing.assert_allclose(
        got[1], (cost(0.7, av + eps) - cost(0.7, av - eps)) / (2 * eps), rtol=1e-6
    )


def test_grad_with_zero_steps_is_zero_for_sequences_and_identity_for_init(backend):
    x = sc.vector("x")
    h0 = sc.scalar("h0")
    hs, _ = sc.scan(lambda t, h: h * t, sequences=x, outputs_info=h0)
    cost = sc.sum(hs) + h0
    gx, gh = sc.grad(cost, [x, h0])
    got = fn([x, h0], [gx, gh], backend)(np.zeros(0), 2.0)
    assert got[0].shape == (0,)
    np.testing.assert_allclose(got[1], 1.0)


def test_hessian_of_a_short_scan(backend):
    v = sc.vector("v", length=2)
    start = np.array([0.5, -0.2])
    ys, _ = sc.scan(lambda h: sc.tanh(h * v + 0.3), outputs_info=sc.constant(start), n_steps=3)
    cost = sc.sum(ys**2)
    H = fn([v], sc.hessian(cost, v), backend)(np.array([0.7, -1.1]))

    def np_cost(w):
        h, s = start, 0.0
        for _ in range(3):
            h = np.tanh(h * w + 0.3)
            s += np.sum(h**2)
        return s

    eps = 1e-4
    num = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):

            def at(di, dj, i=i, j=j):
                w = np.array([0.7, -1.1])
                w[i] += di
                w[j] += dj
                return np_cost(w)

            num[i, j] = (at(eps, eps) - at(eps, -eps) - at(-eps, eps) + at(-eps, -eps)) / (
                4 * eps**2
            )
    np.testing.assert_allclose(H, num, rtol=1e-5, atol=1e-7)


def test_second_derivatives_through_a_matrix_rnn(backend):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(3, 2))

    def grad_of_cost(W):
        hs = _rnn(
            W,
            sc.constant(np.eye(2)),
            sc.constant(np.zeros(2)),
            sc.constant(np.ones(2)),
            sc.constant(X),
        )
        return sc.grad(sc.sum(hs**2), W)

    sc.verify_grad(grad_of_cost, [rng.normal(size=(2, 2)) * 0.5], backend=backend)


# --- user mistakes -----------------------------------------------------------------------


def test_wrong_number_of_outputs_names_scan_and_the_line():
    x = sc.vector("x")
    with pytest.raises(
        sc.SymcValueError, match=r"scan: fn returned 2 output\(s\), but outputs_info has 1"
    ) as err:
        sc.scan(lambda t, h: [h + t, h], sequences=x, outputs_info=[sc.constant(0.0)])
    assert HERE in str(err.value)


def test_recurrent_output_changing_dtype_is_an_error():
    x = sc.vector("x")
    with pytest.raises(sc.SymcTypeError, match=r"scan: output 0 is fed back.*float32") as err:
        sc.scan(lambda t, h: sc.cast(h + t, "float32"), sequences=x, outputs_info=sc.constant(0.0))
    assert HERE in str(err.value)


def test_recurrent_output_changing_shape_is_an_error():
    x = sc.vector("x")
    with pytest.raises(
        sc.SymcShapeError, match=r"scan: output 0 is fed back.*keep its shape"
    ) as err:
        sc.scan(lambda t, h: h + x, sequences=x, outputs_info=sc.constant(0.0))
    assert HERE in str(err.value)


def test_recurrent_output_changing_length_at_run_time_is_an_error(backend):
    h0 = sc.vector("h0")
    M = sc.matrix("M")
    hs, _ = sc.scan(lambda h: h @ M, outputs_info=h0, n_steps=2)
    f = fn([h0, M], hs, backend)
    with pytest.raises(sc.SymcShapeError, match=r"scan: step 0 changed the shape") as err:
        f(np.ones(3), np.ones((3, 4)))
    assert HERE in str(err.value)


def test_missing_n_steps_and_bad_taps_are_errors():
    with pytest.raises(sc.SymcValueError, match=r"scan: n_steps is required") as err:
        sc.scan(lambda h: h * 2, outputs_info=sc.constant(1.0))
    assert HERE in str(err.value)
    with pytest.raises(sc.SymcValueError, match=r"scan: the taps of output 0"):
        sc.scan(lambda h: h, outputs_info=dict(initial=sc.vector("i"), taps=[0]), n_steps=2)
    with pytest.raises(sc.SymcShapeError, match=r"scan: the initial value of output 0 has 3 rows"):
        sc.scan(
            lambda a, b: a + b,
            outputs_info=dict(initial=sc.constant(np.ones(3)), taps=[-2, -1]),
            n_steps=2,
        )
    with pytest.raises(sc.SymcShapeError, match=r"until: the stop condition must be a scalar"):
        sc.scan(lambda h: (h, sc.until(h > 0)), outputs_info=sc.vector("h"), n_steps=2)


def test_fn_that_cannot_take_the_arguments_is_an_error():
    x = sc.vector("x")
    with pytest.raises(sc.SymcTypeError, match=r"scan: fn\(t\) cannot take the 2 arguments") as err:
        sc.scan(lambda t: t, sequences=x, outputs_info=sc.constant(0.0))
    assert HERE in str(err.value)
