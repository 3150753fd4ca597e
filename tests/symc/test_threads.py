"""Kernels split among threads (``num_threads > 1``) give the one-thread results.

The arrays are above the parallel threshold (65,536 elements of work), and
their row counts do not divide evenly among the threads' chunks.
"""

from __future__ import annotations

import numpy as np
import pytest

import symc as sc

pytestmark = pytest.mark.skipif(
    not __import__("symc.compile.native", fromlist=["x"]).compiler_available(),
    reason="no C compiler",
)


def _both(inputs, outputs, *args):
    """Results with 3 threads and with 1 (3 threads on 2 cores: uneven by design)."""
    got = {}
    for threads in (3, 1):
        with sc.config.change(num_threads=threads):
            got[threads] = sc.function(inputs, outputs, backend="c")(*args)
    return got[3], got[1]


def test_elementwise_over_many_chunks():
    x, y = sc.vector("x"), sc.vector("y")
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-3, 3, 100_003), rng.uniform(-3, 3, 100_003)
    many, one = _both([x, y], sc.exp(-(x**2)) * sc.sin(y) + sc.log1p(y * y), a, b)
    # loop tails use scalar libm and bodies the vector library: a chunk boundary
    # moves which elements land in a tail, which may change the last bits
    np.testing.assert_array_max_ulp(many, one, maxulp=4)
    want = np.exp(-(a**2)) * np.sin(b) + np.log1p(b * b)
    np.testing.assert_allclose(many, want, rtol=1e-12, atol=1e-12)


def test_rows_reductions_and_strided_inputs():
    X, v = sc.matrix("X"), sc.vector("v")
    rng = np.random.default_rng(1)
    a = rng.standard_normal((1001, 134))[:, ::2]  # 67 columns, every other one
    c = rng.standard_normal(67)
    outs = [sc.log_softmax(X + v, axis=1), sc.sum(X * v, axis=0), sc.max(X, axis=1)]
    many, one = _both([X, v], outs, a, c)
    z = a + c
    want = [
        z
        - z.max(axis=1, keepdims=True)
        - np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(1))[:, None],
        (a * c).sum(axis=0),
        a.max(axis=1),
    ]
    for m, o, w in zip(many, one, want, strict=True):
        np.testing.assert_array_max_ulp(m, o, maxulp=4)
        np.testing.assert_allclose(m, w, rtol=1e-12, atol=1e-12)
