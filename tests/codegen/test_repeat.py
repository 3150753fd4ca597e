"""The ``Repeat`` loop statement: rendered, compiled and run without symc, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from codegen.c import render
from codegen.errors import IRError
from codegen.ir import (
    BinOp,
    Buffer,
    Call,
    Counter,
    Elementwise,
    Gemm,
    IOp,
    Load,
    Program,
    Repeat,
    Shape,
    Store,
    Stride,
    View,
)


def _row(buf: Buffer, var: int) -> View:
    """Row ``Counter(var)`` of a 2-d buffer, as a 1-d view."""
    return View(buf, (Stride(buf, 1),), IOp("mul", Counter(var), Stride(buf, 0)))


def rnn_program(reverse: bool = False) -> Program:
    """``h = tanh(W @ h + x[t])`` over the rows of ``x``; outputs every state and the last."""
    x, h0, w = Buffer("x", "float64", 2), Buffer("h0", "float64", 1), Buffer("W", "float64", 2)
    n, hid = Shape(x, 0), Shape(h0, 0)
    hs = Buffer("hs", "float64", 2, "output", (n, hid))
    last = Buffer("last", "float64", 1, "output", (hid,))  # the carry lives in the output
    g = Buffer("g", "float64", 1, "temp", (hid,))
    vec = lambda b: View(b, (Stride(b, 0),))  # noqa: E731
    step = (
        Gemm(
            View(w, (0, Stride(w, 0), Stride(w, 1))),
            View(last, (0, Stride(last, 0), 0)),
            View(g, (0, Stride(g, 0), 0)),
            hid,
            1,
            hid,
        ),
        Elementwise(
            (hid,),
            (vec(g), _row(x, 0)),
            (
                Store(
                    _row(hs, 0),
                    Call("tanh", (BinOp("add", Load(0, "float64"), Load(1, "float64")),)),
                ),
            ),
        ),
        Elementwise((hid,), (_row(hs, 0),), (Store(vec(last), Load(0, "float64")),)),
    )
    body = (
        Elementwise((hid,), (vec(h0),), (Store(vec(last), Load(0, "float64")),)),
        Repeat(0, n, step, reverse),
    )
    return Program((x, h0, w), (hs, last), (g,), body)


def numpy_rnn(x, h0, w, reverse=False):
    hs, h = np.zeros_like(x), h0
    for t in reversed(range(len(x))) if reverse else range(len(x)):
        h = np.tanh(w @ h + x[t])
        hs[t] = h
    return hs, h


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("hidden", [3, 100])  # 100 * 100 multiply-adds go through BLAS
def test_recurrence_matches_numpy(build, reverse, hidden):
    f = build(rnn_program(reverse), single=False)
    rng = np.random.default_rng(hidden)
    for steps in (0, 1, 7):
        x = rng.normal(size=(steps, hidden))
        h0 = rng.normal(size=hidden)
        w = rng.normal(size=(hidden, hidden)) / hidden
        hs, last = f(x, h0, w)
        want_hs, want_last = numpy_rnn(x, h0, w, reverse)
        assert hs.shape == (steps, hidden) and hs.dtype == np.float64
        np.testing.assert_allclose(hs, want_hs, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(last, want_last, rtol=1e-12, atol=1e-14)


def test_transposed_matrix_takes_the_column_path(build):
    f = build(rnn_program(), single=False)
    rng = np.random.default_rng(3)
    w = rng.normal(size=(5, 5)) / 5
    x, h0 = rng.normal(size=(4, 5)), rng.normal(size=5)
    hs, _ = f(x, h0, w.T)  # a Fortran-ordered view: strides (1, 5)
    np.testing.assert_allclose(hs, numpy_rnn(x, h0, w.T)[0], rtol=1e-12)


def test_nested_loops_see_both_counters(build):
    """``out[i, j] = x[i] * y[j]`` written by a loop over j inside a loop over i."""
    x, y = Buffer("x", "float64", 1), Buffer("y", "float64", 1)
    out = Buffer("out", "float64", 2, "output", (Shape(x, 0), Shape(y, 0)))
    at = IOp("add", IOp("mul", Counter(0), Stride(out, 0)), IOp("mul", Counter(1), Stride(out, 1)))
    inner = Elementwise(
        (),
        (
            View(x, (), IOp("mul", Counter(0), Stride(x, 0))),
            View(y, (), IOp("mul", Counter(1), Stride(y, 0))),
        ),
        (Store(View(out, (), at), BinOp("mul", Load(0, "float64"), Load(1, "float64"))),),
    )
    prog = Program(
        (x, y), (out,), (), (Repeat(0, Shape(x, 0), (Repeat(1, Shape(y, 0), (inner,), True),)),)
    )
    f = build(prog)
    a, b = np.arange(1.0, 4.0), np.array([2.0, -1.0])
    np.testing.assert_array_equal(f(a, b), np.outer(a, b))
    assert f(np.zeros(0), b).shape == (0, 2)


def test_counter_outside_its_loop_is_refused():
    x = Buffer("x", "float64", 1)
    out = Buffer("out", "float64", 0, "output", ())
    stray = Elementwise((), (View(x, (), Counter(0)),), (Store(View(out, ()), Load(0, "float64")),))
    with pytest.raises(IRError, match="Counter"):
        render(Program((x,), (out,), (), (stray,)))
    with pytest.raises(IRError, match="Counter"):
        render(Program((x,), (out,), (), (Repeat(1, Shape(x, 0), (stray,)),)))
    with pytest.raises(IRError, match="both use var 0"):
        render(Program((x,), (out,), (), (Repeat(0, 2, (Repeat(0, 2, (stray,)),)),)))
    bad = Buffer("t", "float64", 1, "temp", (Counter(0),))
    with pytest.raises(IRError, match="Counter"):
        render(Program((x,), (out,), (bad,), (Repeat(0, 2, (stray,)),)))


def test_loop_body_opens_no_parallel_region():
    src = render(rnn_program(), parallel_threshold=1)
    loop = src[src.index("for (int64_t rep0_i") :]
    assert "parallel" not in loop
    assert "rep0_t = rep0_i;" in loop
    assert "rep0_n - 1 - rep0_i" in render(rnn_program(reverse=True))
