"""The gradient index: a cost an earlier process differentiated gets its gradient from the cache."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import symc as sc
from symc import autodiff
from symc.compile import grad_index
from symc.graph.location import user_location

REPO = Path(__file__).resolve().parents[2]


def logreg():
    X, y, w, b = sc.matrix("X"), sc.vector("y"), sc.vector("w"), sc.scalar("b")
    p = sc.sigmoid(sc.dot(X, w) + b)
    return -sc.mean(y * sc.log(p) + (1 - y) * sc.log(1 - p)), [w, b]


def softmax_ce():
    X, W, Y = sc.matrix("X"), sc.matrix("W"), sc.matrix("Y")
    logits = sc.tanh(X @ W) * 2.0
    logp = sc.log_softmax(logits, axis=1)
    return -sc.mean(sc.sum(Y * logp, axis=1)) + sc.sum(logp[:, 0] ** 2), [W]


def with_constants():
    x = sc.vector("x")
    c = sc.constant(np.array([0.5, -1.0, 2.0]))
    h = sc.maximum(x * c, 0.0)
    h.name = "h"
    return sc.sum(sc.where(x > 0, h**2, sc.exp(x))) + sc.max(x), [x]


def interior_wrt():
    x = sc.vector("x")
    u = sc.sin(x) * 3.0
    return sc.sum(sc.log1p(sc.exp(u))), [u, x]


def disconnected_zero():
    x, y = sc.vector("x"), sc.vector("y")
    return sc.sum(x * x), [x, y]


COSTS = [logreg, softmax_ce, with_constants, interior_wrt, disconnected_zero]


@pytest.mark.parametrize("build", COSTS, ids=lambda b: b.__name__)
def test_an_entry_rebuilds_the_very_nodes_it_recorded(build):
    cost, wrts = build()
    grads, here = sc.grad(cost, wrts, disconnected="zero"), user_location()
    key = grad_index.key(cost, wrts, "zero")
    assert key is not None
    data = grad_index.encode(grads, key.nodes, here)
    again = grad_index.decode(grad_index._load(data), key.nodes, here)
    assert all(a is b for a, b in zip(again, grads, strict=True))


def test_a_hit_skips_the_rewriter_and_gives_the_same_gradient(monkeypatch):
    cost, wrts = logreg()
    first = sc.grad(cost, wrts)
    calls = []
    real = autodiff._stabilized
    monkeypatch.setattr(autodiff, "_stabilized", lambda *a: calls.append(1) or real(*a))
    assert all(a is b for a, b in zip(sc.grad(cost, wrts), first, strict=True))
    assert calls == []  # found in the index, not differentiated again


def _entry(cost, wrts) -> Path:
    key = grad_index.key(cost, wrts, "raise")
    entry = key.cache.lookup(key.parts)
    assert entry is not None
    return entry


def _forget():
    from codegen.cache import Cache

    Cache._memory.clear()


def test_a_truncated_entry_is_computed_and_written_again(monkeypatch):
    cost, wrts = logreg()
    sc.grad(cost, wrts)
    path = _entry(cost, wrts) / "grad.pickle"
    path.write_bytes(path.read_bytes()[:20])
    _forget()
    calls = []
    real = autodiff._stabilized
    monkeypatch.setattr(autodiff, "_stabilized", lambda *a: calls.append(1) or real(*a))
    cost, wrts = logreg()  # new leaves: new nodes, as in a new process
    sc.grad(cost, wrts)
    assert calls == [1]  # the checksum failed: computed, and the entry written again
    _forget()
    cost, wrts = logreg()
    sc.grad(cost, wrts)
    assert calls == [1]
    assert grad_index.lookup(grad_index.key(cost, wrts, "raise"), None) is not None


class _Boom:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned-by-grad-index",))


def test_an_entry_may_only_name_symc_classes_and_numpy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(pickle.UnpicklingError, match="os|posix"):
        grad_index._Unpickler(io.BytesIO(pickle.dumps(_Boom()))).load()
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):  # a symc function
        grad_index._Unpickler(io.BytesIO(pickle.dumps(sc.config.change))).load()
    x = sc.vector("x")
    cost = sc.sum(sc.cosh(x))
    key = grad_index.key(cost, [x], "raise")
    key.cache.get(key.parts, lambda d: (d / "grad.pickle").write_bytes(pickle.dumps(_Boom())))
    g = sc.grad(cost, x)  # the entry is refused, the gradient computed and recorded instead
    np.testing.assert_allclose(sc.function([x], g)(np.array([0.5])), np.sinh([0.5]))
    assert not (tmp_path / "pwned-by-grad-index").exists()
    _forget()
    (again,) = grad_index.lookup(key, None)
    assert again is g


def test_graphs_the_index_cannot_describe_are_computed():
    class Cube(sc.Op):  # an op from outside symc: its pullback is not in the fingerprint
        def infer(self, x):
            return x

        def impl(self, x):
            return x**3

        def pullback(self, inputs, out, g):
            return [3 * g * inputs[0] ** 2]

    x = sc.vector("x")
    assert grad_index.key(sc.sum(Cube()(x)), [x], "raise") is None
    with sc.config.change(trace_rewrites=True):
        assert grad_index.key(sc.sum(x), [x], "raise") is None

    h0 = sc.vector("h0")
    hs, _ = sc.scan(lambda h: sc.tanh(h) * 0.5, outputs_info=[h0], n_steps=3)
    cost = sc.sum(hs[-1])
    key = grad_index.key(cost, [h0], "raise")
    assert key is not None  # the cost hashes; its gradient's loop op holds a body graph
    g = sc.grad(cost, h0)
    assert key.cache.lookup(key.parts) is None  # so no entry is written
    f = sc.function([h0], g, backend="python")
    assert f(np.array([0.1, 0.2])).shape == (2,)


# what a process prints of its gradient: each node's op and the line it points at
SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {repo!r})
    import symc as sc
    from symc.graph.traverse import toposort
    {pad}X, y, w = sc.matrix("X"), sc.vector("y"), sc.vector("w")
    p = sc.sigmoid(sc.dot(X, w) + 0.5)
    loss = -sc.mean(y * sc.log(p) + (1 - y) * sc.log(1 - p))
    g = sc.grad(loss, w)
    nodes = [(n.op.label(), n.loc[1] if n.loc else None) for n in toposort([g])]
    print(json.dumps([nodes, "symc.rewriting.pipeline" in sys.modules]))
    """
)


def _run(tmp_path, cache: str, pad: str):
    script = tmp_path / f"grad_{cache}_{len(pad)}.py"
    script.write_text(SCRIPT.format(repo=str(REPO), pad=pad))
    env = {"SYMC_CACHE_DIR": str(tmp_path / cache), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_fresh_process_gets_the_gradient_with_its_own_lines(tmp_path):
    recorded, rewrote = _run(tmp_path, "shared", pad="")
    assert rewrote  # the first process differentiated (and recorded)
    moved = "\n" * 3  # the same cost, three lines further down in another script
    hit, rewrote = _run(tmp_path, "shared", pad=moved)
    assert not rewrote  # found in the index: the rewriter never loaded
    fresh, _ = _run(tmp_path, "empty", pad=moved)
    assert hit == fresh
    assert [op for op, _ in hit] == [op for op, _ in recorded]
    assert {line for _, line in hit} - {line for _, line in recorded} != set()
