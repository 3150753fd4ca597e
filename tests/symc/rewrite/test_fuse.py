"""Elementwise fusion into ``Composite``/``CompositeReduce`` ops."""

from __future__ import annotations

import numpy as np

import symc as sc
from symc.api import math as m
from symc.graph.printing import dprint_text
from symc.ops.composite import Composite, CompositeReduce
from symc.rewriting import optimize
from symc.rewriting.fuse import adjacent_unfused, fuse

from .helpers import AsWritten


def _ops(outs):
    return [n for n in sc.toposort(outs) if n.inputs]


def test_issue_example_is_one_composite(backend):
    for shape in [(None,), ()]:
        x, y = sc.tensor("x", shape=shape), sc.tensor("y", shape=shape)
        z = sc.vector("z")
        out = m.exp(-(x**2)) * m.sin(y) + m.log1p(z * z)
        (new,) = optimize([out])
        assert isinstance(new.op, Composite)
        assert all(not i.inputs for i in new.inputs), dprint_text(new)
        vals = [
            np.full((4,) if shape else (), 0.3),
            np.full((4,) if shape else (), -1.2),
            np.linspace(-2, 2, 4),
        ]
        want = AsWritten([x, y, z], out)(*vals)
        np.testing.assert_array_equal(AsWritten([x, y, z], new)(*vals), want)
        got = sc.function([x, y, z], new, backend=backend)(*vals)
        np.testing.assert_allclose(got, want, rtol=1e-15)


def test_dprint_shows_the_fused_formula():
    x, y = sc.vector("x"), sc.vector("y")
    (new,) = optimize([m.exp(-x) * m.sin(y) + 2.0])
    text = dprint_text(new)
    assert "composite{" in text and "exp(-i0)" in text and "sin(i1)" in text and "2.0" in text


def _mlp(layers=2):
    X = sc.matrix("X")
    t = sc.vector("t")
    h, params = X, []
    for k in range(layers):
        W, b = sc.matrix(f"W{k}"), sc.vector(f"b{k}")
        params += [W, b]
        h = m.tanh(h @ W + b)
    cost = sc.mean((sc.sum(h, axis=1) - t) ** 2)
    return cost, [X, t, *params], params


def test_mlp_forward_and_gradient_have_no_adjacent_fusable_pair(backend):
    cost, ins, params = _mlp()
    outs = [cost, *sc.grad(cost, params)]
    new = optimize(outs)
    assert adjacent_unfused(new) == []
    assert adjacent_unfused(outs) != []  # the test can fail
    assert any(isinstance(n.op, (Composite, CompositeReduce)) for n in _ops(new))
    rng = np.random.default_rng(0)
    vals = [
        rng.normal(size=(5, 3)),
        rng.normal(size=5),
        rng.normal(size=(3, 4)),
        rng.normal(size=4),
        rng.normal(size=(4, 2)),
        rng.normal(size=2),
    ]
    got = sc.function(ins, new, backend=backend)(*vals)
    want = AsWritten(ins, outs)(*vals)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_reduction_is_fused_with_its_elementwise_input(backend):
    x, y = sc.matrix("x"), sc.matrix("y")
    out = sc.sum(m.exp(x) * y + 1.0, axis=1)
    (new,) = optimize([out])
    assert isinstance(new.op, CompositeReduce)
    assert "sum{axes=(1,)}" in new.op.label()
    v = np.arange(6.0).reshape(2, 3) / 7
    np.testing.assert_array_equal(
        AsWritten([x, y], new)(v, v),
        AsWritten([x, y], out)(v, v),
    )
    np.testing.assert_allclose(
        sc.function([x, y], new, backend=backend)(v, v), AsWritten([x, y], out)(v, v), rtol=1e-14
    )


def test_shared_intermediate_and_broadcast_operands_stay_inputs():
    x = sc.matrix("x")
    b = sc.vector("b")
    h = m.exp(x)
    bb = m.sin(b) * 2.0  # a vector broadcast into the matrix loop
    outs = fuse([h + bb, h * 3.0])
    for o in outs:
        assert isinstance(o.op, Composite) or o.op.name in ("add", "mul")
    # exp(x) has two users: computed once, not duplicated into both loops
    assert sum(n.op.name == "exp" for n in _ops(outs)) == 1


def test_fusion_is_idempotent_and_gradients_flow_through_composites(backend):
    x = sc.vector("x")
    out = m.sin(x) * m.cos(x) + x
    (once,) = optimize([out])
    (twice,) = optimize([once])
    assert isinstance(twice.op, Composite) and twice.op == once.op
    g = sc.grad(sc.sum(once), x)
    v = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(
        sc.function([x], g, backend=backend)(v), np.cos(2 * v) + 1, rtol=1e-13
    )
    sc.verify_grad(lambda a: sc.sum(optimize([m.sin(a) * m.exp(a)])[0]), [v], backend=backend)


def test_float32_and_casts_fuse_with_exact_dtypes(backend):
    x = sc.vector("x", dtype="float32")
    out = m.cast(m.exp(x) * 2.0, "float64") + 1.0
    (new,) = optimize([out])
    assert isinstance(new.op, Composite) and new.type == out.type
    v = np.linspace(-3, 3, 7).astype("float32")
    want = AsWritten([x], out)(v)
    np.testing.assert_array_equal(AsWritten([x], new)(v), want)
    np.testing.assert_allclose(sc.function([x], new, backend=backend)(v), want, rtol=1e-6)
