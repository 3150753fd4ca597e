"""Shared loop functions, layout proofs, row-wise paths and the statement table, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from codegen.c import render
from codegen.errors import KernelError
from codegen.ir import (
    BinOp,
    Buffer,
    Call,
    Cast,
    Check,
    Const,
    Elementwise,
    Gemm,
    Index,
    IOp,
    Load,
    Program,
    Reduce,
    Shape,
    Store,
    Stride,
    View,
    broadcast_view,
    contiguous_view,
)
from codegen.layout import Equal, c_contiguous, repeats, same_dim


def _c_view(buf, shape):
    """The view a lowering makes of a fresh C-contiguous buffer: literal and product strides."""
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc = d if acc == 1 else IOp("mul", acc, d)
    return View(buf, tuple(reversed(strides)))


def test_layout_proofs():
    x = Buffer("x", "float64", 3)
    n = tuple(Shape(x, i) for i in range(3))
    t = Buffer("t", "float64", 3, "temp", n)
    assert c_contiguous(_c_view(t, n), n)
    # the same product in another order, and a length-1 axis with any stride
    swapped = View(t, (IOp("mul", n[1], n[2]), n[2], 1))
    assert c_contiguous(swapped, n)
    assert c_contiguous(View(t, (7, 1)), (1, n[2]))
    assert not c_contiguous(contiguous_view(x), n)  # run-time strides: not proved
    assert not c_contiguous(View(t, (n[2], n[1], 1)), n)
    # lengths the checks make equal count as equal
    y = Buffer("y", "float64", 1)
    eq = Equal([(Shape(y, 0), n[2])])
    assert same_dim(IOp("mul", Shape(y, 0), n[1]), IOp("mul", n[1], n[2]), eq)
    assert not same_dim(IOp("mul", Shape(y, 0), n[1]), IOp("mul", n[1], n[2]))
    assert not eq.add(n[2], Shape(y, 0)) and eq.add(n[0], n[1])
    assert repeats(View(x, (0, 1)), (n[0], n[1])) and not repeats(View(x, (0, 0)), n[:2])


def _chain_program(dtype="float64"):
    """t0 = exp(x); t1 = exp(t0 * 0.5); y = t1 + b (b a row broadcast over x's rows)."""
    x, b = Buffer("x", dtype, 2), Buffer("b", dtype, 1)
    n = (Shape(x, 0), Shape(x, 1))
    t0 = Buffer("t0", dtype, 2, "temp", n)
    t1 = Buffer("t1", dtype, 2, "temp", n)
    y = Buffer("y", dtype, 2, "output", n)
    half = Const(0.5, dtype)
    body = (
        Elementwise(
            n, (contiguous_view(x),), (Store(_c_view(t0, n), Call("exp", (Load(0, dtype),))),)
        ),
        Elementwise(
            n,
            (_c_view(t0, n),),
            (Store(_c_view(t1, n), Call("exp", (BinOp("mul", Load(0, dtype), half),))),),
        ),
        Elementwise(
            n,
            (_c_view(t1, n), broadcast_view(b, 2)),
            (Store(_c_view(y, n), BinOp("add", Load(0, dtype), Load(1, dtype))),),
        ),
    )
    checks = (Check(Shape(b, 0), Shape(x, 1)), Check(Shape(x, 1), Shape(b, 0)))
    return Program((x, b), (y,), (t0, t1), body, checks)


def test_contiguous_temporaries_need_no_layout_test():
    src = render(_chain_program(), vector_math=True)
    # statement 1 reads and writes temporaries only: a flat loop, no run-time test, and
    # the repeated (reversed) check is emitted once
    assert src.count("return 100;") == 2  # P_shapes and P_run
    assert "return 101;" not in src
    assert src.count("static __attribute__((noinline)) void symc_loop") >= 3


@pytest.mark.parametrize("nthreads", [1, 2])
def test_row_broadcast_paths(build, nthreads):
    f = build(_chain_program(), nthreads=nthreads, parallel_threshold=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 9))
    wide = rng.standard_normal(18)
    want = lambda x, b: np.exp(np.exp(x) * 0.5) + b  # noqa: E731
    cases = [
        (x, wide[:9]),  # every operand contiguous: the flat loop
        (x, wide[::2]),  # a strided row: outer rows, inner loop strided
        (x[:, ::-1], wide[:9]),  # a reversed input: the general nest
        (np.asfortranarray(x), wide[::-2]),
        (x[:0], wide[:9]),
        (x[:1], wide[:9]),
    ]
    for a, b in cases:
        np.testing.assert_allclose(f(a, b), want(a, b), rtol=1e-13, atol=1e-14)
    with pytest.raises(KernelError):
        f(x, wide[:8])


def test_inner_path_keeps_the_index(build):
    """y[i, j] = x[i, j] * j + b[j] with b strided: the row path must see each axis index."""
    d = "float64"
    x, b = Buffer("x", d, 2), Buffer("b", d, 1)
    n = (Shape(x, 0), Shape(x, 1))
    y = Buffer("y", d, 2, "output", n)
    value = BinOp("add", BinOp("mul", Load(0, d), Cast(Index(1), d)), Load(1, d))
    prog = Program(
        (x, b),
        (y,),
        (),
        (
            Elementwise(
                n, (contiguous_view(x), broadcast_view(b, 2)), (Store(_c_view(y, n), value),)
            ),
        ),
    )
    f = build(prog)
    rng = np.random.default_rng(1)
    xv, bv = rng.standard_normal((5, 6)), rng.standard_normal(12)
    for bb in (bv[:6], bv[::2]):
        np.testing.assert_allclose(f(xv, bb), xv * np.arange(6) + bb, rtol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_column_reductions_fold_rows_in_blocks(build, dtype):
    """sum/max/min over the leading axes of a temporary, with more columns than one block."""
    x = Buffer("x", dtype, 3)
    n = tuple(Shape(x, i) for i in range(3))
    t = Buffer("t", dtype, 3, "temp", n)
    outs, body = (
        [],
        [
            Elementwise(
                n,
                (contiguous_view(x),),
                (Store(_c_view(t, n), BinOp("mul", Load(0, dtype), Load(0, dtype))),),
            )
        ],
    )
    for op in ("sum", "max", "min", "prod"):
        o = Buffer(op, dtype, 1, "output", (n[2],))
        body.append(Reduce(n, (0, 1), (_c_view(t, n),), Load(0, dtype), op, View(o, (0, 0, 1))))
        outs.append(o)
    f = build(Program((x,), tuple(outs), (t,), tuple(body)))
    rng = np.random.default_rng(2)
    xv = (rng.standard_normal((3, 4, 600)) * 0.9).astype(dtype)
    xv[1, 2, 7] = np.nan
    xv[0, 0, 300] = np.inf
    got = f(xv)
    sq = (xv.astype(np.float64) ** 2).astype(dtype)
    rtol = 1e-5 if dtype == "float32" else 1e-13
    for op, g in zip(("sum", "max", "min", "prod"), got, strict=True):
        want = getattr(np, op)(sq.astype(np.float64), axis=(0, 1)).astype(dtype)
        assert g.dtype == dtype and g.shape == (600,)
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(g, want, rtol=rtol, err_msg=op)
    assert np.isnan(got[1][7]) and np.isnan(got[2][7]) and got[1][300] == np.inf
    empty = f(xv[:, :, :0])
    assert all(e.shape == (0,) for e in empty)


def test_table_runs_products_and_loops_in_order(build):
    """c = tanh(a @ b) * 2 + (a @ b): GEMM rows and loop rows interleaved in one table."""
    d = "float32"
    a, b = Buffer("a", d, 2), Buffer("b", d, 2)
    m, k, nn = Shape(a, 0), Shape(a, 1), Shape(b, 1)
    p = Buffer("p", d, 2, "temp", (m, nn))
    q = Buffer("q", d, 2, "temp", (m, nn))
    c = Buffer("c", d, 2, "output", (m, nn))
    gemm = Gemm(
        View(a, (0, Stride(a, 0), Stride(a, 1))),
        View(b, (0, Stride(b, 0), Stride(b, 1))),
        View(p, (0, nn, 1)),
        m,
        nn,
        k,
        alpha=0.5,
    )
    tanh2 = BinOp("mul", Call("tanh", (Load(0, d),)), Const(2.0, d))
    e1 = Elementwise((m, nn), (_c_view(p, (m, nn)),), (Store(_c_view(q, (m, nn)), tanh2),))
    e2 = Elementwise(
        (m, nn),
        (_c_view(q, (m, nn)), _c_view(p, (m, nn))),
        (Store(_c_view(c, (m, nn)), BinOp("add", Load(0, d), Load(1, d))),),
    )
    prog = Program((a, b), (c,), (p, q), (gemm, e1, e2), (Check(Shape(b, 0), k),))
    f = build(prog)
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((7, 5)).astype(d), rng.standard_normal((5, 3)).astype(d)
    pv = 0.5 * (x.astype(np.float64) @ y)
    np.testing.assert_allclose(f(x, y), np.tanh(pv) * 2 + pv, rtol=2e-5)
    np.testing.assert_allclose(f(x.T.copy().T, y[:, ::-1]), f(x, y[:, ::-1].copy()), rtol=1e-6)
    with pytest.raises(KernelError):
        f(x, y[:4])


def test_opt_level_is_o2_only_for_step_loops():
    """A program of array statements compiles at -O1; one with a Repeat at -O2."""
    from codegen.c import opt_level
    from codegen.ir import Repeat

    small = _chain_program()
    assert opt_level(small) == "-O1"
    deep = Program(small.inputs, small.outputs, small.temps, small.body * 20)
    assert opt_level(deep) == "-O1"
    looped = Program(small.inputs, small.outputs, small.temps, (Repeat(0, 3, small.body),))
    assert opt_level(looped) == "-O2"
