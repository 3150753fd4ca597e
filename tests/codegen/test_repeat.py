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
    Check,
    Compare,
    Const,
    Counter,
    Elementwise,
    Extent,
    Gemm,
    IOp,
    Load,
    Program,
    Reduce,
    Repeat,
    Shape,
    Store,
    Stride,
    Value,
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


def running_sum_until() -> Program:
    """Running sums of ``x`` until one exceeds ``limit`` (that step included), count, sum."""
    x, limit = Buffer("x", "float64", 1), Buffer("limit", "float64", 0)
    sums = Buffer("sums", "float64", 1, "output", (Shape(x, 0),))  # at most one row per step
    count = Buffer("count", "int64", 0, "output", ())
    total = Buffer("total", "float64", 0, "output", ())
    acc = Buffer("acc", "float64", 0, "temp", ())
    flag = Buffer("flag", "bool", 0, "temp", ())
    ran = Buffer("ran", "int64", 0, "temp", ())
    f64 = "float64"
    row = View(sums, (), IOp("mul", Counter(0), Stride(sums, 0)))
    step = (
        Elementwise(
            (),
            (View(acc, ()), View(x, (), IOp("mul", Counter(0), Stride(x, 0)))),
            (Store(View(acc, ()), BinOp("add", Load(0, f64), Load(1, f64))),),
        ),
        Elementwise((), (View(acc, ()),), (Store(row, Load(0, f64)),)),
        Elementwise(
            (),
            (View(acc, ()), View(limit, ())),
            (Store(View(flag, ()), Compare("gt", Load(0, f64), Load(1, f64))),),
        ),
    )
    body = (
        Elementwise((), (), (Store(View(acc, ()), Const(0.0, f64)),)),
        Repeat(0, Shape(x, 0), step, stop=View(flag, ()), steps=ran),
        Elementwise((), (), (Store(View(count, ()), Extent(Value(ran))),)),
        Reduce((Value(ran),), (0,), (View(sums, (1,)),), Load(0, f64), "sum", View(total, (0,))),
    )
    return Program(
        (x, limit), (sums, count, total), (acc, flag, ran), body, rows=((sums, Value(ran)),)
    )


@pytest.mark.parametrize("fast", [True, False])  # the C shim and the cffi fallback
def test_a_loop_with_a_stop_condition_reports_the_rows_it_filled(build, fast):
    f = build(running_sum_until(), single=False, fast=fast)
    for x, limit in [
        (np.arange(1.0, 9.0), 9.5),
        (np.ones(5), 100.0),
        (np.ones(5), 0.0),
        (np.ones(0), 1.0),
    ]:
        sums, count, total = f(x, np.array(limit))
        want = np.cumsum(x)
        k = int(np.argmax(want > limit)) + 1 if (want > limit).any() else len(x)
        assert sums.shape == (k,) and sums.dtype == np.float64 and sums.flags.owndata
        np.testing.assert_array_equal(sums, want[:k])
        assert count == k and count.dtype == np.int64
        assert total == want[:k].sum()


def test_run_time_values_only_in_statements():
    prog = running_sum_until()
    ran = prog.temps[2]
    src = render(prog)
    assert "if ((tmp1)[0]) break;" in src and "tmp2[0] = rep0_i;" in src
    bad = Buffer("bad", "float64", 1, "temp", (Value(ran),))
    with pytest.raises(IRError, match="before the program runs"):
        render(Program(prog.inputs, prog.outputs, (*prog.temps, bad), prog.body, rows=prog.rows))
    with pytest.raises(IRError, match="before the program runs"):
        render(Program(prog.inputs, prog.outputs, prog.temps, prog.body, (Check(Value(ran), 1),)))
    with pytest.raises(IRError, match="not an output"):
        render(Program(prog.inputs, prog.outputs, prog.temps, prog.body, rows=((ran, 1),)))
    loop = prog.body[1]
    wrong = Repeat(0, loop.count, loop.body, stop=loop.stop, steps=prog.temps[0])  # float64
    with pytest.raises(IRError, match="steps must be a 0-d int64"):
        render(Program(prog.inputs, prog.outputs, prog.temps, (wrong,)))
