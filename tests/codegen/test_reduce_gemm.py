"""Reductions over several axes and CBLAS matrix products against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from codegen.errors import KernelError
from codegen.ir import (
    BinOp,
    Buffer,
    Call,
    Gemm,
    IOp,
    Load,
    Program,
    Reduce,
    Shape,
    Stride,
    View,
    contiguous_view,
)

OPS = ["sum", "prod", "max", "min", "argmax", "argmin"]


def reduce_program(dtype, axes):
    """One Reduce per op over ``axes`` of a 3-d input, fed by ``x * x`` for sum (fusion)."""
    x = Buffer("x", dtype, 3)
    shape = tuple(Shape(x, i) for i in range(3))
    kept = [i for i in range(3) if i not in axes]
    body, outs = [], []
    for op in OPS:
        out_dtype = "int64" if op.startswith("arg") else dtype
        out = Buffer(op, out_dtype, len(kept), "output", tuple(shape[i] for i in kept))
        strides = [0] * 3
        for j, i in enumerate(kept):
            strides[i] = Stride(out, j)
        value = Load(0, dtype)
        if op == "sum":
            value = BinOp("mul", value, value)
        body.append(
            Reduce(shape, axes, (contiguous_view(x),), value, op, View(out, tuple(strides)))
        )
        outs.append(out)
    return Program((x,), tuple(outs), (), tuple(body))


def numpy_reduce(op, x, axes):
    if op == "sum":
        return np.sum(x * x, axis=axes)
    if op.startswith("arg"):  # flat index over the reduced axes, C order
        kept = [i for i in range(x.ndim) if i not in axes]
        moved = np.moveaxis(x, kept, list(range(len(kept))))
        flat = moved.reshape(moved.shape[: len(kept)] + (-1,))
        return getattr(np, op)(flat, axis=-1)
    return getattr(np, op)(x, axis=axes)


@pytest.mark.parametrize(
    "dtype,axes", [("float64", (1,)), ("float32", (0, 2)), ("int64", (0, 1, 2))]
)
def test_reductions(build, dtype, axes):
    f = build(reduce_program(dtype, axes))
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((4, 5, 6)) * 3).astype(dtype)
    for arr in (x, x[::-1, :, ::2], np.swapaxes(x, 0, 2).copy().swapaxes(0, 2)):
        outs = f(arr)
        for op, out in zip(OPS, outs, strict=False):
            ref = numpy_reduce(op, arr, axes)
            if dtype == "float32" and op in ("sum", "prod"):
                np.testing.assert_allclose(out, ref, rtol=2e-6, err_msg=op)
            else:
                np.testing.assert_allclose(out, ref, rtol=1e-12, err_msg=op)
            assert out.dtype == ref.dtype or op in ("sum", "prod")


def test_nan_propagation_and_empty(build):
    f = build(reduce_program("float64", (1,)))
    x = np.zeros((2, 4, 3))
    x[0, 2, 1] = np.nan
    x[0, 3, 1] = np.nan
    x[1, 1, 2] = np.inf
    outs = dict(zip(OPS, f(x), strict=False))
    assert np.isnan(outs["max"][0, 1]) and np.isnan(outs["min"][0, 1])
    assert outs["argmax"][0, 1] == 2 and outs["argmin"][0, 1] == 2  # the first NaN wins
    assert outs["max"][1, 2] == np.inf and outs["argmax"][1, 2] == 1
    with pytest.raises(KernelError, match="identity"):
        f(np.zeros((2, 0, 3)))
    empty_kept = f(np.zeros((0, 3, 3)))
    assert all(o.shape == (0, 3) for o in empty_kept)


def gemm_program(dtype, batched):
    """c = a @ b with a (B?, m, k), b (B?, k, n) at any strides."""
    nd = 3 if batched else 2
    a, b = Buffer("a", dtype, nd), Buffer("b", dtype, nd)
    m, k, n = Shape(a, nd - 2), Shape(a, nd - 1), Shape(b, nd - 1)
    batch = Shape(a, 0) if batched else 1
    c = Buffer("c", dtype, nd, "output", ((batch,) if batched else ()) + (m, n))

    def v3(buf):
        s = [Stride(buf, i) for i in range(nd)]
        return View(buf, tuple(s) if batched else (0, *s))

    from codegen.ir import Check

    checks = (Check(Shape(b, nd - 2), k, "inner dimensions differ"),)
    if batched:
        checks += (Check(Shape(b, 0), Shape(a, 0), "batch sizes differ"),)
    gemm = Gemm(v3(a), v3(b), v3(c), m, n, k, batch)
    return Program((a, b), (c,), (), (gemm,), checks)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_gemm_layouts(build, dtype):
    f = build(gemm_program(dtype, batched=False))
    rng = np.random.default_rng(3)
    A = (rng.standard_normal((12, 10)) * 4).astype(dtype)
    B = (rng.standard_normal((10, 9)) * 4).astype(dtype)
    cases = [
        (A[:5, :7], B[:7, :6]),  # row-major with leading dims
        (A[:7, :5].T, B[:6, :7].T),  # transposed
        (A[::2, ::3], B[:4, ::-1]),  # strides BLAS cannot take: packed first
        (A[:5, :7], B[:7, :1]),  # matrix-vector (gemv)
        (A[:1, :7], B[:7, :3]),
        (A[:3, :0], B[:0, :4]),  # k == 0
        (np.broadcast_to(A[:1, :4], (3, 4)), B[:4, :2]),  # zero stride
    ]
    for x, y in cases:
        out = f(x, y)
        ref = x @ y
        assert out.shape == ref.shape
        rtol = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(out, ref, rtol=rtol, atol=rtol)
    with pytest.raises(KernelError, match="inner dimensions differ"):
        f(A[:2, :3], B[:4, :2])


def test_batched_gemm(build):
    f = build(gemm_program("float64", batched=True))
    rng = np.random.default_rng(4)
    a = rng.standard_normal((4, 3, 5))
    b = rng.standard_normal((4, 5, 2))
    np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-12)
    np.testing.assert_allclose(
        f(a[::-1], np.swapaxes(b, 1, 2).copy().swapaxes(1, 2)), a[::-1] @ b, rtol=1e-12
    )


def test_temporary_feeds_reduction(build):
    """tmp = exp(x) (a run-time sized temporary), then s = sum(tmp, axis=0) - two statements."""
    from codegen.ir import Elementwise, Store

    x = Buffer("x", "float64", 2)
    shape = (Shape(x, 0), Shape(x, 1))
    tmp = Buffer("t", "float64", 2, "temp", shape)
    s = Buffer("s", "float64", 1, "output", (Shape(x, 1),))
    e = Elementwise(
        shape,
        (contiguous_view(x),),
        (
            __import__("codegen.ir").ir.Store(
                contiguous_view(tmp), Call("exp", (Load(0, "float64"),))
            ),
        ),
    )
    r = Reduce(
        shape,
        (0,),
        (contiguous_view(tmp),),
        Load(0, "float64"),
        "sum",
        View(s, (0, IOp("mul", Stride(s, 0), 1))),
    )
    f = build(Program((x,), (s,), (tmp,), (e, r)))
    x_val = np.random.default_rng(5).standard_normal((6, 3))
    np.testing.assert_allclose(f(x_val), np.exp(x_val).sum(axis=0), rtol=1e-13)
    assert Store is not None
