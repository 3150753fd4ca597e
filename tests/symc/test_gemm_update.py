"""``w ± c * (a @ b)`` (an SGD update of a weight): values, and one fused BLAS call in C."""

from __future__ import annotations

import numpy as np
import pytest

import symc as sc


def _fused_gemms(f) -> int:
    """How many matrix products of a C function accumulate into their result (beta = 1)."""
    from codegen import ir

    lowered = getattr(f, "_lowered", None)
    if lowered is None:  # the python backend
        return 0
    return sum(isinstance(s, ir.Gemm) and s.beta == 1.0 for s in lowered.program.body)


def _tol(dtype: str) -> dict:
    return {"rtol": 2e-5, "atol": 2e-6} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-13}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_update_of_shared_weight(backend, dtype):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((5, 4)).astype(dtype)
    b0 = rng.standard_normal((5, 4)).astype(dtype)
    w, b = sc.shared(w0.copy(), name="w"), sc.shared(b0.copy(), name="b")
    x = sc.matrix("x", dtype=dtype)
    g = sc.matrix("g", dtype=dtype)
    prod = sc.dot(x.T, g)
    f = sc.function(
        [x, g],
        sc.sum(g),
        updates=[(w, w - 0.1 * prod), (b, 2.0 * sc.dot(x.T, g * g) + b)],
        backend=backend,
    )
    xs = rng.standard_normal((3, 5)).astype(dtype)
    gs = rng.standard_normal((3, 4)).astype(dtype)
    want_w, want_b = w0.copy(), b0.copy()
    for _ in range(2):
        f(xs, gs)
        want_w = want_w - dtype_(dtype, 0.1) * (xs.T @ gs)
        want_b = dtype_(dtype, 2.0) * (xs.T @ (gs * gs)) + want_b
    for got, want in ((w.get_value(), want_w), (b.get_value(), want_b)):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, **_tol(dtype))
    if backend == "c":
        assert _fused_gemms(f) == 2


def test_broadcast_weight_and_plain_difference(backend):
    """A row broadcast against the product, and ``w - a @ b`` with no factor."""
    rng = np.random.default_rng(1)
    a = sc.matrix("a", dtype="float64")
    bm = sc.matrix("b", dtype="float64")
    row = sc.tensor("r", (1, None), "float64")
    f = sc.function([a, bm, row], row - sc.dot(a, bm), backend=backend)
    av, bv = rng.standard_normal((4, 3)), rng.standard_normal((3, 6))
    rv = rng.standard_normal((1, 6))
    got = f(av, bv, rv)
    np.testing.assert_allclose(got, rv - av @ bv, rtol=1e-12, atol=1e-13)
    assert got.dtype == np.float64 and got.shape == (4, 6)
    if backend == "c":
        assert _fused_gemms(f) == 1
    # an empty inner length: the result is the weight itself
    got = f(av[:, :0], bv[:0], rv)
    np.testing.assert_array_equal(got, np.broadcast_to(rv, (4, 6)))


def test_product_read_elsewhere_is_not_fused(backend):
    """The product is also returned: it must stay a product, and the update still right."""
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal((3, 3))
    w = sc.shared(w0.copy(), name="w")
    a = sc.matrix("a", dtype="float64")
    prod = sc.dot(a, a)
    f = sc.function([a], prod, updates=[(w, w - 0.5 * prod)], backend=backend)
    av = rng.standard_normal((3, 3))
    got = f(av)
    np.testing.assert_allclose(got, av @ av, rtol=1e-12)
    np.testing.assert_allclose(w.get_value(), w0 - 0.5 * (av @ av), rtol=1e-12)
    if backend == "c":
        assert _fused_gemms(f) == 0


def dtype_(dtype: str, v: float):
    return np.dtype(dtype).type(v)
