"""Scan rules: optimized bodies, hoisting, pruning, last-state-only outputs, loop lengths.

Each rule is checked on the rewritten graph's structure (what the loop body
holds, which loop results remain) and on values against NumPy, on every
backend.
"""

from __future__ import annotations

import numpy as np
import pytest

import symc as sc
from symc.api.shape import length
from symc.graph.traverse import toposort
from symc.ops.composite import Composite, CompositeReduce
from symc.ops.scan import Loop
from symc.rewriting import optimize
from symc.rewriting.pattern import op_key

from .rewrite.helpers import AsWritten


def fn(inputs, outputs, backend, **kw):
    return sc.function(inputs, outputs, backend=backend, **kw)


def loops(outs) -> list:
    """The loop nodes of a graph (one per result node)."""
    return [n for n in toposort(list(outs)) if isinstance(n.op, Loop)]


def body_ops(loop: Loop) -> list[str]:
    """The op keys a loop body computes, fused regions opened (nested bodies excluded)."""
    keys = []
    for n in toposort(list(loop.body.outputs)):
        if not n.inputs:
            continue
        if isinstance(n.op, (Composite, CompositeReduce)):
            keys += [fn for fn, _, _ in n.op.steps]
        else:
            keys.append(op_key(n.op))
    return keys


def results(outs) -> set:
    return {n.op.result for n in loops(outs)}


# --- the body gets the whole optimizer ------------------------------------------------------


def test_body_gets_stability_rewrites_and_fusion(backend):
    x = sc.vector("x")
    ys, _ = sc.scan(lambda t: sc.log(1 + t) * 2 + t, sequences=x)
    stats: dict = {}
    (opt,) = optimize([ys], stats=stats)
    assert stats.get("log1p_from_log")
    (loop,) = loops([opt])
    ops = body_ops(loop.op)
    assert "log1p" in ops and "log" not in ops
    assert any(isinstance(n.op, Composite) for n in toposort(list(loop.op.body.outputs)))
    # accuracy where log(1 + t) rounds 1 + t to 1
    v = np.array([1e-20, 3e-17, -2e-18, 0.5])
    got = fn([x], ys, backend)(v)
    want = np.log1p(v) * 2 + v
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert AsWritten([x], ys)(v)[0] == v[0]  # the naive body really loses it: log(1) * 2 + t


def test_nested_body_is_optimized_too(backend):
    X = sc.matrix("X")

    def row(r):
        inner, _ = sc.scan(lambda t: sc.exp(t) - 1, sequences=r)
        return inner

    out, _ = sc.scan(row, sequences=X)
    (opt,) = optimize([out])
    inner = [n for n in toposort(list(loops([opt])[0].op.body.outputs)) if isinstance(n.op, Loop)]
    assert inner and "expm1" in body_ops(inner[0].op)
    a = np.array([[1e-18, 0.3], [-1e-17, 2.0]])
    np.testing.assert_allclose(fn([X], out, backend)(a), np.expm1(a), rtol=1e-15)


# --- loop-invariant hoisting --------------------------------------------------------------


def test_invariant_subgraph_moves_out_of_the_loop(backend):
    W = sc.matrix("W")
    b = sc.vector("b")
    X = sc.matrix("X")
    h0 = sc.vector("h0")
    hs, _ = sc.scan(
        lambda x, h, W, b: sc.tanh(sc.exp(W) @ h + x + sc.sum(b**2)),
        sequences=X,
        outputs_info=h0,
        non_sequences=[W, b],
    )
    stats: dict = {}
    (opt,) = optimize([hs], stats=stats)
    assert stats.get("scan_hoist")
    (loop,) = loops([opt])
    ops = body_ops(loop.op)
    assert "exp" not in ops and "Reduce" not in ops and "pow" not in ops and "sqr" not in ops
    assert "tanh" in ops
    # the hoisted values are computed once, outside, from the loop's outer inputs
    outside = [op_key(n.op) for n in toposort(list(loop.inputs)) if n.inputs]
    assert "exp" in outside
    rng = np.random.default_rng(0)
    w, bv, x, h = (
        rng.normal(size=(3, 3)) * 0.3,
        rng.normal(size=3),
        rng.normal(size=(4, 3)),
        rng.normal(size=3),
    )
    want, state = [], h
    for xt in x:
        state = np.tanh(np.exp(w) @ state + xt + np.sum(bv**2))
        want.append(state)
    np.testing.assert_allclose(fn([W, b, X, h0], hs, backend)(w, bv, x, h), want, rtol=1e-12)


def test_hoisting_can_be_excluded():
    W = sc.matrix("W")
    h0 = sc.vector("h0")
    hs, _ = sc.scan(lambda h, W: sc.exp(W) @ h, outputs_info=h0, non_sequences=W, n_steps=3)
    (opt,) = optimize([hs], exclude=["scan_hoist"])
    assert "exp" in body_ops(loops([opt])[0].op)
    (opt,) = optimize([hs])
    assert "exp" not in body_ops(loops([opt])[0].op)


def test_invariant_inner_loop_moves_out_of_the_outer_loop(backend):
    x = sc.vector("x")
    a = sc.scalar("a")

    def step(t, a):
        # a**1 + a**2 + a**3: the same every step
        ps, _ = sc.scan(
            lambda p, a: p * a, outputs_info=sc.ones_like(a), non_sequences=a, n_steps=3
        )
        return t * sc.sum(ps)

    out, _ = sc.scan(step, sequences=x, non_sequences=a)
    (opt,) = optimize([out])
    assert isinstance(opt.op, Loop)
    # the inner loop now runs once, outside, and feeds the outer loop a constant
    assert any(isinstance(n.op, Loop) for n in toposort(list(opt.inputs)))
    assert not [n for n in toposort(list(opt.op.body.outputs)) if isinstance(n.op, Loop)]
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(fn([x, a], out, backend)(v, 2.0), v * (2 + 4 + 8))


# --- unused results -----------------------------------------------------------------------


def test_unused_outputs_and_carries_are_dropped(backend):
    x = sc.vector("x")
    h0 = sc.scalar("h0")
    c0 = sc.scalar("c0")
    # carry c is updated but only read by itself; output d is never used
    (hs, cs, ds), _ = sc.scan(
        lambda t, h, c: [h * 0.5 + t, c * 2 + h, t * 3],
        sequences=x,
        outputs_info=[h0, c0, None],
    )
    (opt,) = optimize([hs])
    (loop,) = loops([opt])
    assert loop.op.n_carry == 1 and loop.op.n_out == 1
    assert results([opt]) == {("out", 0)}
    v = np.array([1.0, 2.0, -1.0])
    want, h = [], 0.25
    for t in v:
        h = h * 0.5 + t
        want.append(h)
    got = fn([x, h0, c0], hs, backend)(v, 0.25, 1.0)
    np.testing.assert_allclose(got, want)


def test_a_carry_an_output_needs_is_kept(backend):
    x = sc.vector("x")
    (hs, cs), _ = sc.scan(
        lambda t, h, c: [h + c, c * 2 + t],
        sequences=x,
        outputs_info=[sc.constant(0.0), sc.constant(1.0)],
    )
    (opt,) = optimize([hs])
    (loop,) = loops([opt])
    assert loop.op.n_carry == 2
    v = np.array([1.0, 2.0, 3.0])
    want, h, c = [], 0.0, 1.0
    for t in v:
        h, c = h + c, c * 2 + t
        want.append(h)
    np.testing.assert_allclose(fn([x], hs, backend)(v), want)


# --- last state only ----------------------------------------------------------------------


def test_last_row_of_a_fed_back_output_is_the_final_carry(backend):
    x0 = sc.scalar("x0")
    n = sc.iscalar("n")
    xs, _ = sc.scan(lambda x: 0.5 * x + 1, outputs_info=x0, n_steps=n)
    (opt,) = optimize([xs[-1]])
    assert results([opt]) == {("carry", 0)}
    f = fn([x0, n], xs[-1], backend)
    want = 3.0
    for _ in range(7):
        want = 0.5 * want + 1
    np.testing.assert_allclose(f(3.0, 7), want, rtol=1e-15)
    with pytest.raises(sc.SymcIndexError, match="out of bounds"):
        f(3.0, 0)  # as for the stored output: no row to read


def test_static_steps_read_the_carry_directly():
    x0 = sc.scalar("x0")
    xs, _ = sc.scan(lambda x: 0.5 * x + 1, outputs_info=x0, n_steps=5)
    (opt,) = optimize([xs[-1]])
    assert isinstance(opt.op, Loop) and opt.op.result == ("carry", 0)


def test_last_rows_of_an_output_that_is_not_fed_back(backend):
    x = sc.vector("x")
    ys, _ = sc.scan(lambda t: sc.sin(t) * 2, sequences=x)
    tail = [ys[-3:], ys[-1], ys[-2]]
    opt = optimize(tail)
    assert ("out", 0) not in results(opt)
    (loop,) = {n.op.loop_key(): n for n in loops(opt)}.values()
    assert loop.op.n_carry == 3  # a three-row shift register
    f = fn([x], tail, backend)
    for v in [np.linspace(0, 1, 6), np.array([0.3, 0.7])]:
        got = f(v)
        want = np.sin(v) * 2
        np.testing.assert_allclose(got[0], want[-3:], rtol=1e-15)
        np.testing.assert_allclose(got[1], want[-1], rtol=1e-15)
        np.testing.assert_allclose(got[2], want[-2], rtol=1e-15)
    with pytest.raises(sc.SymcIndexError, match="out of bounds"):
        f(np.array([0.5]))  # ys[-2] of one row
    g = fn([x], ys[-3:], backend)
    assert g(np.zeros(0)).shape == (0,)
    np.testing.assert_allclose(g(np.array([1.0])), [np.sin(1.0) * 2])


def test_last_rows_of_a_taps_register_reuse_its_carries(backend):
    init = sc.vector("init", dtype="int64")
    fib, _ = sc.scan(lambda a, b: a + b, outputs_info=dict(initial=init, taps=[-2, -1]), n_steps=10)
    (opt,) = optimize([fib[-2:]])
    (loop,) = {n.op.loop_key(): n for n in loops([opt])}.values()
    assert loop.op.n_carry == 2 and results([opt]) == {("carry", 0), ("carry", 1)}
    got = fn([init], fib[-2:], backend)(np.array([0, 1]))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, [55, 89])


def test_an_output_read_whole_is_still_stored(backend):
    x = sc.vector("x")
    ys, _ = sc.scan(lambda t, h: h + t, sequences=x, outputs_info=sc.constant(0.0))
    outs = [ys[-1], sc.sum(ys)]
    (a, b) = optimize(outs)
    assert ("out", 0) in results([a, b])
    v = np.arange(4.0)
    got = fn([x], outs, backend)(v)
    np.testing.assert_allclose(got, [6.0, np.sum(np.cumsum(v))])


# --- lengths of loop results --------------------------------------------------------------


def test_length_of_a_stacked_output_does_not_run_the_loop(backend):
    x0 = sc.vector("x0")
    n = sc.iscalar("n")
    xs, _ = sc.scan(lambda x: x * 2, outputs_info=x0, n_steps=n)
    shape = [length(xs, 0), length(xs, 1)]
    opt = optimize(shape)
    assert not loops(opt)
    got = fn([x0, n], shape, backend)(np.ones(3), 5)
    assert [int(g) for g in got] == [5, 3]


def test_length_after_until_is_the_steps_result(backend):
    limit = sc.scalar("limit")

    def step(p):
        return p * 2, sc.until(p * 2 > limit)

    ps, _ = sc.scan(step, outputs_info=sc.constant(1.0), n_steps=50)
    (opt,) = optimize([length(ps, 0)])
    assert results([opt]) == {("steps",)}
    if backend == "python":  # the C backend refuses until (output lengths known after the loop)
        assert int(fn([limit], length(ps, 0), backend)(100.0)) == 7


def test_gradient_of_the_last_state_runs_no_stacked_forward_output(backend):
    W = sc.matrix("W")
    X = sc.matrix("X")
    h0 = sc.vector("h0")
    hs, _ = sc.scan(lambda x, h: sc.tanh(W @ h + x), sequences=X, outputs_info=h0)
    cost = sc.sum(hs[-1])
    gW = sc.grad(cost, W)
    opt = optimize([cost, gW])
    kinds = {(n.op.reverse, n.op.result[0]) for n in loops(opt)}
    # forward: the final carry and the saved states; no stacked output anywhere
    assert (False, "out") not in kinds and (False, "history") in kinds
    # the backward loop accumulates only dW (dX and the other adjoints are unused)
    back = [n for n in loops(opt) if n.op.reverse]
    assert back and all(n.op.n_out == 0 for n in back)
    rng = np.random.default_rng(3)
    w, x, h = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(5, 3)), rng.normal(size=3)
    got = fn([W, X, h0], [cost, gW], backend)(w, x, h)
    states = [h]
    for xt in x:
        states.append(np.tanh(w @ states[-1] + xt))
    a, gw = np.ones(3), np.zeros((3, 3))
    for t in reversed(range(len(x))):
        d = a * (1 - states[t + 1] ** 2)
        gw += np.outer(d, states[t])
        a = w.T @ d
    np.testing.assert_allclose(got[0], np.sum(states[-1]), rtol=1e-12)
    np.testing.assert_allclose(got[1], gw, rtol=1e-10, atol=1e-12)


def test_outer_product_in_a_body_becomes_a_fused_multiply(backend):
    X = sc.matrix("X")
    v = sc.vector("v")
    col, row = (lambda x: sc.expand_dims(x, 1)), (lambda x: sc.expand_dims(x, 0))
    total, _ = sc.scan(
        lambda x, acc, v: acc + col(x) @ row(v),
        sequences=X,
        outputs_info=sc.zeros((3, 2)),
        non_sequences=v,
    )
    (opt,) = optimize([total[-1]])
    (loop,) = {n.op.loop_key(): n for n in loops([opt])}.values()
    assert "MatMul" not in body_ops(loop.op) and "mul" in body_ops(loop.op)
    # outside a loop body the rule does not fire
    (plain,) = optimize([col(v) @ row(v)])
    assert op_key(plain.op) == "MatMul"
    x, w = np.arange(12.0).reshape(4, 3) - 5, np.array([0.5, -2.0])
    got = fn([X, v], total[-1], backend)(x, w)
    np.testing.assert_allclose(got, sum(np.outer(r, w) for r in x), rtol=1e-14)
