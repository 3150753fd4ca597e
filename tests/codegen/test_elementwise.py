"""Fused elementwise kernels against NumPy: broadcasting, strides, dtypes, edge shapes."""

from __future__ import annotations

import numpy as np
import pytest
from cg_util import elementwise_program

from codegen.errors import KernelError
from codegen.ir import (
    BinOp,
    Buffer,
    Call,
    Cast,
    Compare,
    Const,
    Elementwise,
    Index,
    Load,
    Program,
    Select,
    Shape,
    Store,
    UnaryOp,
    View,
    contiguous_view,
)


def fused(dtype):
    """y0 = exp(x0) * x1 + c ; y1 = where(x0 > x1, x0, -x1): two stores, one kernel."""
    x0, x1 = Load(0, dtype), Load(1, dtype)
    c = Const(0.5, dtype)
    y0 = BinOp("add", BinOp("mul", Call("exp", (x0,)), x1), c)
    y1 = Select(Compare("gt", x0, x1), x0, UnaryOp("neg", x1))
    return elementwise_program([(dtype, 2), (dtype, 1)], [y0, y1])


def ref(a, b):
    return np.exp(a) * b + a.dtype.type(0.5), np.where(a > b, a, -b)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_broadcast_layouts(build, dtype):
    f = build(fused(dtype))
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 7)).astype(dtype)
    b = rng.standard_normal(7).astype(dtype)
    big = rng.standard_normal((9, 14)).astype(dtype)
    cases = [
        (a, b),  # contiguous fast path
        (a, b[:1]),  # run-time broadcast of a length-1 axis
        (big[::2, ::-2], b),  # negative and non-unit strides
        (rng.standard_normal((7, 5)).astype(dtype).T, b[::-1]),  # transposed input
        (a[:, :0], b[:0]),  # length 0
        (a[:0], b),
    ]
    rtol = 1e-6 if dtype == "float32" else 1e-14
    for x, y in cases:
        out0, out1 = f(x, y)
        r0, r1 = ref(x, y)
        assert out0.dtype == dtype and out0.shape == r0.shape
        np.testing.assert_allclose(out0, r0, rtol=rtol)
        np.testing.assert_array_equal(out1, r1)


def test_broadcast_mismatch_raises(build):
    f = build(fused("float64"))
    with pytest.raises(KernelError, match="broadcast"):
        f(np.ones((2, 3)), np.ones(4))


def test_argument_checks(build):
    f = build(fused("float64"))
    with pytest.raises(TypeError):
        f(np.ones((2, 3)))
    with pytest.raises(ValueError):
        f(np.ones(3), np.ones(3))
    with pytest.raises(TypeError):  # complex -> float64 is not a safe cast
        f(np.ones((2, 3), complex), np.ones(3))
    out0, _ = f([[1.0, 2.0]], np.ones(2, np.float32))  # safe conversions are done for you
    np.testing.assert_allclose(out0, np.exp([[1.0, 2.0]]) + 0.5)


def test_zero_dim_program(build):
    x = Buffer("x", "float64", 0)
    y = Buffer("y", "float64", 0, "output", ())
    e = BinOp("mul", Call("sqrt", (Load(0, "float64"),)), Const(2.0, "float64"))
    f = build(Program((x,), (y,), (), (Elementwise((), (View(x, ()),), (Store(View(y, ()), e),)),)))
    out = f(np.array(9.0))
    assert out.shape == () and out == 6.0


def test_int64_semantics_match_numpy(build):
    i64 = "int64"
    a, b = Load(0, i64), Load(1, i64)
    fns = ["floordiv", "mod", "add", "sub", "mul", "maximum", "minimum"]
    exprs = [BinOp(fn, a, b) for fn in fns]
    exprs += [Call("abs", (a,)), Call("sign", (a,)), BinOp("pow", Call("abs", (b,)), Const(3, i64))]
    f = build(elementwise_program([(i64, 1), (i64, 1)], exprs))
    big = np.iinfo(np.int64)
    x = np.array([7, -7, 7, -7, 0, 5, big.min, big.max, big.min, 3], np.int64)
    y = np.array([2, 2, -2, -2, 3, 0, -1, 1, 1, 0], np.int64)
    outs = f(x, y)
    with np.errstate(all="ignore"):
        refs = [
            getattr(
                np, {"floordiv": "floor_divide", "sub": "subtract", "mul": "multiply"}.get(fn, fn)
            )(x, y)
            for fn in fns
        ]
        refs += [np.abs(x), np.sign(x), np.power(np.abs(y), 3)]
    for fn, o, r in zip(fns + ["abs", "sign", "pow"], outs, refs, strict=False):
        np.testing.assert_array_equal(o, r, err_msg=fn)


def test_float_floordiv_mod_match_numpy(build):
    d = "float64"
    a, b = Load(0, d), Load(1, d)
    f = build(elementwise_program([(d, 1), (d, 1)], [BinOp("floordiv", a, b), BinOp("mod", a, b)]))
    x = np.array([7.5, -7.5, 7.5, -7.5, 0.0, -0.0, 1.0, np.inf, 3.0, np.nan, 1e308, -1.0])
    y = np.array([2.0, 2.0, -2.0, -2.0, 3.0, 3.0, 0.0, 2.0, np.inf, 1.0, 1e-308, np.inf])
    q, r = f(x, y)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(q, np.floor_divide(x, y))
        np.testing.assert_array_equal(r, np.mod(x, y))
        assert np.array_equal(np.signbit(r), np.signbit(np.mod(x, y)))


def test_bool_and_int8_and_casts(build):
    b, i8 = "bool", "int8"
    p, q = Load(0, b), Load(1, b)
    m = Load(2, i8)
    exprs = [
        BinOp("logical_and", p, q),
        BinOp("logical_xor", p, q),
        UnaryOp("logical_not", p),
        BinOp("add", m, m),  # wraps in int8
        Compare("gt", BinOp("add", m, m), Const(0, i8)),  # comparison after wrap
        Cast(Cast(m, "float32"), "bool"),
        Cast(Call("isnan", (Cast(m, "float64"),)), "uint8"),
    ]
    f = build(elementwise_program([(b, 1), (b, 1), (i8, 1)], exprs))
    x = np.array([True, False, True, False])
    y = np.array([True, True, False, False])
    z = np.array([100, -100, 0, 3], np.int8)
    o = f(x, y, z)
    np.testing.assert_array_equal(o[0], x & y)
    np.testing.assert_array_equal(o[1], x ^ y)
    np.testing.assert_array_equal(o[2], ~x)
    np.testing.assert_array_equal(o[3], z + z)
    np.testing.assert_array_equal(o[4], (z + z) > 0)
    np.testing.assert_array_equal(o[5], z.astype(bool))
    assert o[6].dtype == np.uint8 and not o[6].any()


def test_index_and_literals_round_trip(build):
    values64 = [
        0.1,
        -0.0,
        1e-300,
        5e-324,
        1.7976931348623157e308,
        float("inf"),
        -float("inf"),
        2.0**-1074 * 3,
        1 / 3,
    ]
    values32 = [0.1, -0.0, 1e-45, 3.4028234663852886e38, 1 / 3, float("-inf")]
    ints = [np.iinfo(np.int64).min, np.iinfo(np.int64).max, -5]
    n = Buffer("n", "float64", 1)
    shape = (Shape(n, 0),)
    exprs = [Const(v, "float64") for v in values64] + [Const(v, "float32") for v in values32]
    exprs += [Const(v, "int64") for v in ints] + [
        Const(float("nan"), "float64"),
        Const(255, "uint8"),
        Index(0),
    ]
    outs = tuple(Buffer(f"y{i}", e.dtype, 1, "output", shape) for i, e in enumerate(exprs))
    stores = tuple(Store(contiguous_view(o), e) for o, e in zip(outs, exprs, strict=False))
    f = build(Program((n,), outs, (), (Elementwise(shape, (contiguous_view(n),), stores),)))
    got = f(np.zeros(3))
    want = [np.float64(v) for v in values64] + [np.float32(v) for v in values32] + ints
    for g, w in zip(got, want, strict=False):
        assert g.dtype == np.asarray(w).dtype if not isinstance(w, int) else True
        assert g[0].tobytes() == np.asarray(w, dtype=g.dtype).tobytes(), (g, w)
    assert np.isnan(got[-3]).all() and got[-2][0] == 255
    np.testing.assert_array_equal(got[-1], [0, 1, 2])


def _loop_text(source: str, call: str) -> tuple[str, str]:
    """(text before, text inside) the vectorized loop of the loop function that calls ``call``."""
    parts = source.split("static __attribute__((noinline)) void ")[1:]  # not the preamble
    fns = [f for f in parts if f.startswith("symc_loop") and call in f]
    assert fns, f"no loop function calls {call}"
    before, _, rest = fns[0].partition("#pragma omp simd")
    # the vectorized loop ends where its path returns (a strided fallback may follow)
    return before, rest.partition("return;")[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_row_invariant_call_is_hoisted(build, dtype):
    """x - log1p(exp(r) + r * 2) with r a column: one log1p per row, before the inner loop."""
    from codegen.ir import Check, Stride

    x = Buffer("x", dtype, 2)
    r = Buffer("r", dtype, 1)
    shape = (Shape(x, 0), Shape(x, 1))
    y = Buffer("y", dtype, 2, "output", shape)
    rl = Load(1, dtype)
    row = Call("log1p", (BinOp("add", Call("exp", (rl,)), BinOp("mul", rl, Const(2.0, dtype))),))
    # the select's condition and both branches only read the row: hoisted as one
    sel = Select(Call("isfinite", (rl,)), row, Const(0.0, dtype))
    value = BinOp("sub", BinOp("sub", Load(0, dtype), sel), BinOp("mul", rl, Load(0, dtype)))
    views = (View(x, (Stride(x, 0), Stride(x, 1))), View(r, (Stride(r, 0), 0)))
    st = Elementwise(shape, views, (Store(contiguous_view(y), value),))
    program = Program((x, r), (y,), (), (st,), (Check(Shape(r, 0), Shape(x, 0)),))
    f = build(program)
    rng = np.random.default_rng(1)
    big = rng.standard_normal((6, 10)).astype(dtype)
    rv = rng.standard_normal(6).astype(dtype)
    rv[2] = np.inf
    for a in (big[:, :5], big[::2, ::-2], big[:, :0], big[:0, :5]):
        rr = rv[: a.shape[0]]
        with np.errstate(all="ignore"):
            lse = np.where(np.isfinite(rr), np.log1p(np.exp(rr) + rr * 2), 0).astype(dtype)
            want = (a - lse[:, None]) - rr[:, None] * a
        got = f(a, rr)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-13)


def test_hoisted_text(tmp_path):
    """The generated loop computes the row's log1p before the loop, not in it."""
    from codegen.ir import Stride
    from codegen.load_c import compile_and_load

    x = Buffer("x", "float32", 2)
    r = Buffer("r", "float32", 1)
    shape = (Shape(x, 0), Shape(x, 1))
    y = Buffer("y", "float32", 2, "output", shape)
    value = BinOp("sub", Load(0, "float32"), Call("log1p", (Load(1, "float32"),)))
    views = (contiguous_view(x), View(r, (Stride(r, 0), 0)))
    st = Elementwise(shape, views, (Store(contiguous_view(y), value),))
    source = compile_and_load(Program((x, r), (y,), (), (st,)), cache_dir=tmp_path).source
    before, inside = _loop_text(source, "log1pf(")
    assert "log1pf(" in before and "log1pf(" not in inside


def test_scalar_operand_call_is_hoisted(build, tmp_path):
    """y = x * exp(s) with s 0-d: exp is computed once, and an empty x reads nothing."""
    from codegen.load_c import compile_and_load

    program = elementwise_program(
        [("float64", 1), ("float64", 0)],
        [BinOp("mul", Load(0, "float64"), Call("exp", (Load(1, "float64"),)))],
    )
    source = compile_and_load(program, cache_dir=tmp_path).source
    before, inside = _loop_text(source, "exp(")
    assert "exp(" in before and "exp(" not in inside
    f = build(program)
    x = np.linspace(-1, 1, 9)
    for a in (x, x[::-3], x[:0]):
        got = f(a, np.array(0.25))
        np.testing.assert_allclose(got, a * np.exp(0.25), rtol=1e-15)
