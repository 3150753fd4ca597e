"""The C lowering of scan: one native loop, storage allocated once, checks as on python."""

from __future__ import annotations

import re

import numpy as np
import pytest

import symc as sc
from symc.api.shape import length
from symc.graph.node import apply

pytestmark = pytest.mark.skipif(
    not __import__("symc.compile.native", fromlist=["x"]).compiler_available(),
    reason="no C compiler",
)


def _loop_region(source: str) -> str:
    start = source.index("for (int64_t rep0_i")
    end = source.find("/* statement", start)
    return source[start : end if end > 0 else source.index("done:", start)]


def test_final_state_of_a_million_steps_uses_constant_memory():
    x0 = sc.scalar("x0")
    n = sc.iscalar("n")
    hs, _ = sc.scan(lambda h: 0.5 * h + 1.0, outputs_info=x0, n_steps=n)
    last = apply(hs.op.sibling("carry", 0), hs.inputs)  # the final state only
    f = sc.function([x0, n], last, backend="c")
    assert f(3.0, 10**6) == pytest.approx(2.0)
    small, big = f.scratch_bytes(3.0, 10), f.scratch_bytes(3.0, 10**6)
    assert small == big and sum(big.values()) <= 64
    # the stacked output, by contrast, is written straight into the returned array
    g = sc.function([x0, n], [hs, last], backend="c")
    got, fin = g(3.0, 5)
    np.testing.assert_allclose(got[-1], fin)
    assert sum(g.scratch_bytes(3.0, 10**6).values()) <= 64


def test_every_result_of_a_loop_comes_from_one_loop_without_malloc_per_step():
    X = sc.matrix("X")
    W = sc.matrix("W")
    h0 = sc.vector("h0")
    hs, _ = sc.scan(lambda x, h: sc.tanh(W @ h + x), sequences=X, outputs_info=h0)
    hist = apply(hs.op.sibling("history", 0), hs.inputs)
    fin = apply(hs.op.sibling("carry", 0), hs.inputs)
    f = sc.function([X, W, h0], [hs, hist, fin], backend="c")
    assert len(re.findall(r"for \(int64_t rep\d+_i", f.source)) == 1
    assert "malloc" not in _loop_region(f.source)
    rng = np.random.default_rng(0)
    x, w, h = rng.normal(size=(6, 4)), rng.normal(size=(4, 4)) / 2, rng.normal(size=4)
    got_hs, got_hist, got_fin = f(x, w, h)
    want = [h]
    for row in x:
        want.append(np.tanh(w @ want[-1] + row))
    np.testing.assert_allclose(got_hs, want[1:], rtol=1e-12)
    np.testing.assert_allclose(got_hist, want[:-1], rtol=1e-12)
    np.testing.assert_allclose(got_fin, want[-1], rtol=1e-12)


def test_states_that_swap_do_not_read_an_overwritten_state():
    a0, b0 = sc.vector("a0"), sc.vector("b0")
    (a_s, b_s), _ = sc.scan(lambda a, b: [b[::-1], a + 1], outputs_info=[a0, b0], n_steps=4)
    f = sc.function([a0, b0], [a_s, b_s], backend="c")
    a, b = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])
    want_a, want_b = [], []
    for _ in range(4):
        a, b = b[::-1], a + 1
        want_a.append(a)
        want_b.append(b)
    got = f(np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0]))
    np.testing.assert_array_equal(got[0], want_a)
    np.testing.assert_array_equal(got[1], want_b)


def test_rows_that_are_views_of_the_inputs_are_copied():
    X = sc.matrix("X")
    (same, flipped, const), _ = sc.scan(
        lambda x: [x, x[::-1], sc.constant(np.array([1.0, 2.0]))], sequences=X
    )
    f = sc.function([X], [same, flipped, const], backend="c")
    x = np.arange(6.0).reshape(3, 2)
    got = f(x.T.copy().T)  # a Fortran-ordered argument: strided rows
    np.testing.assert_array_equal(got[0], x)
    np.testing.assert_array_equal(got[1], x[:, ::-1])
    np.testing.assert_array_equal(got[2], [[1.0, 2.0]] * 3)


def test_negative_n_steps_raises_the_reference_error():
    x0 = sc.scalar("x0")
    n = sc.iscalar("n")
    hs, _ = sc.scan(lambda h: h * 2, outputs_info=x0, n_steps=n)
    f = sc.function([x0, n], hs, backend="c")
    assert f(1.0, 0).shape == (0,)
    with pytest.raises(sc.SymcValueError, match=r"scan: n_steps is -1"):
        f(1.0, -1)


def _doubling(limit, n_steps):
    powers, _ = sc.scan(
        lambda p: (p * 2, sc.until(p * 2 > limit)), outputs_info=sc.constant(1.0), n_steps=n_steps
    )
    return powers


def test_until_returns_the_rows_that_ran_and_later_statements_read_only_those():
    limit, n = sc.scalar("limit"), sc.iscalar("n")
    ps = _doubling(limit, n)
    hist = apply(ps.op.sibling("history", 0), ps.inputs)
    steps = apply(ps.op.sibling("steps"), ps.inputs)
    outs = [ps, hist, steps, length(ps, 0), sc.sum(ps), ps * 3.0, ps[::-1]]
    f = sc.function([limit, n], outs, backend="c")
    ref = sc.function([limit, n], outs, backend="python")
    assert "break;" in f.source
    for args in [(100.0, 50), (1e30, 50), (0.5, 50), (100.0, 3), (100.0, 0)]:
        got, want = f(*args), ref(*args)
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype and g.shape == w.shape, args
            np.testing.assert_array_equal(g, w)
        assert got[2] == got[3] == len(got[0])  # ("steps",) and shape[0] agree
        assert got[0].flags.owndata and got[0].flags.c_contiguous  # cut in place, not a view
    np.testing.assert_array_equal(f(100.0, 50)[0], [2, 4, 8, 16, 32, 64, 128])


def test_until_on_a_state_reads_the_value_before_the_update():
    # the condition is the carried flag itself: the step stops on the flag it was given
    def step(h, done):
        return [h + 1.0, h + 1.0 > 3.0], sc.until(done)

    h0 = sc.scalar("h0")
    (hs, flags), _ = sc.scan(step, outputs_info=[h0, sc.constant(np.array(False))], n_steps=10)
    f = sc.function([h0], [hs, flags], backend="c")
    ref = sc.function([h0], [hs, flags], backend="python")
    for h0 in (0.0, 5.0, -20.0):
        for g, w in zip(f(h0), ref(h0), strict=True):
            np.testing.assert_array_equal(g, w)


def test_a_length_mismatch_with_until_rows_raises_the_reference_error():
    limit, proj = sc.scalar("limit"), sc.vector("proj")
    f = sc.function([limit, proj], sc.sum(_doubling(limit, 50) * proj), backend="c")
    assert f(100.0, np.ones(7)) == 254.0
    with pytest.raises(sc.SymcShapeError, match=r"could not be broadcast"):
        f(100.0, np.ones(6))


def test_ragged_rows_of_an_inner_until_are_refused():
    K = sc.vector("K")

    def step(k):
        return _doubling(k, 20)

    out, _ = sc.scan(step, sequences=K)
    with pytest.raises(sc.SymcCompileError, match=r"set by a scan with until inside"):
        sc.function([K], out, backend="c")


def test_an_inner_until_whose_rows_stay_in_the_body():
    K = sc.vector("K")
    out, _ = sc.scan(lambda k: sc.sum(_doubling(k, 20)), sequences=K)
    k = np.array([1.0, 100.0, 1e9, 0.1])
    want = sc.function([K], out, backend="python")(k)
    np.testing.assert_array_equal(sc.function([K], out, backend="c")(k), want)


def test_grad_through_until_wrt_a_non_sequence():
    def f(x, w):
        hs, _ = sc.scan(
            lambda t, h, w: (sc.tanh(h * w + t), sc.until(h > 0.7)),
            sequences=x,
            outputs_info=sc.constant(0.0),
            non_sequences=w,
        )
        return hs

    sc.verify_grad(f, [np.linspace(0.2, 0.6, 9), np.array(0.9)], backend="c")


def test_a_length_read_from_a_row_is_refused():
    K = sc.vector("K", dtype="int64")

    def step(k):
        ones, _ = sc.scan(lambda h: h + 1.0, outputs_info=sc.constant(0.0), n_steps=k)
        return sc.sum(ones)

    out, _ = sc.scan(step, sequences=K)
    with pytest.raises(sc.SymcCompileError, match=r"inside a scan"):
        sc.function([K], out, backend="c")


def _step_parts(source: str) -> int:
    return len(re.findall(r"/\* loop 0 step part \d+", source))


def test_an_accumulated_state_is_updated_in_place():
    # dW += outer(x_t, x_t): the step writes the state itself, with no copy after it
    X = sc.matrix("X")
    W0 = sc.matrix("W0")
    ws, _ = sc.scan(lambda x, w: w + sc.outer(x, x), sequences=X, outputs_info=W0)
    fin = apply(ws.op.sibling("carry", 0), ws.inputs)
    f = sc.function([X, W0], fin, backend="c")
    assert _step_parts(f.source) == 1
    rng = np.random.default_rng(1)
    x, w0 = rng.normal(size=(7, 5)), rng.normal(size=(5, 5))
    np.testing.assert_allclose(f(x, w0), w0 + x.T @ x, rtol=1e-12)


def test_a_state_read_after_its_new_value_is_computed_is_not_overwritten_early():
    # the new state is computed first; the second output reads the old one afterwards
    x = sc.vector("x")
    c0 = sc.vector("c0")

    def step(xt, c):
        return c * 2.0 + xt, sc.exp(c)

    (cs, others), _ = sc.scan(step, sequences=x, outputs_info=[c0, None])
    fin = apply(cs.op.sibling("carry", 0), cs.inputs)  # the state alone, not its rows
    f = sc.function([x, c0], [fin, others], backend="c")
    xv, c = np.array([0.5, -1.0, 2.0]), np.array([0.25, -0.5])
    got_c, got_o = f(xv, c)
    want_o = []
    for xt in xv:
        want_o.append(np.exp(c))
        c = c * 2.0 + xt
    np.testing.assert_allclose(got_c, c, rtol=1e-13)
    np.testing.assert_allclose(got_o, want_o, rtol=1e-13)


def test_a_product_that_reads_the_state_does_not_write_it():
    # h = W @ h reads h while writing: the product needs its own buffer
    W = sc.matrix("W")
    h0 = sc.vector("h0")
    hs, _ = sc.scan(lambda h: W @ h, outputs_info=h0, n_steps=4)
    fin = apply(hs.op.sibling("carry", 0), hs.inputs)
    f = sc.function([W, h0], fin, backend="c")
    rng = np.random.default_rng(2)
    w, h = rng.normal(size=(3, 3)), rng.normal(size=3)
    np.testing.assert_allclose(f(w, h), np.linalg.matrix_power(w, 4) @ h, rtol=1e-12)
