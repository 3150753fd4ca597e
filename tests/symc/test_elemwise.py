"""Elementwise functions against NumPy: values, dtypes, broadcasting, layouts, gradients.

Every function of the public elementwise list is checked forward on random
shapes (0-d, length-0 and length-1 axes, operands broadcast against each
other), dtypes and memory layouts, with inputs inside its domain; a separate
test checks that NaN appears exactly where NumPy puts it outside the domain.
Gradients are checked with ``verify_grad`` away from kinks and poles, and the
conventions at the non-differentiable points are checked exactly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.special as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import symc as sc

from .arrays import ALL_DTYPES, layouts, relayout, shapes

SETTINGS = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _log1mexp(x):
    return np.log(-np.expm1(x))


# public name -> (NumPy reference, value domain (low, high) for value comparisons)
UNARY = {
    "negative": (np.negative, None),
    "abs": (np.abs, None),
    "sign": (np.sign, None),
    "square": (np.square, None),
    "exp": (np.exp, None),
    "expm1": (np.expm1, None),
    "log": (np.log, (0.1, 3.0)),
    "log1p": (np.log1p, (-0.9, 3.0)),
    "log2": (np.log2, (0.1, 3.0)),
    "log10": (np.log10, (0.1, 3.0)),
    "sqrt": (np.sqrt, (0.0, 3.0)),
    "sigmoid": (sp.expit, None),
    "softplus": (lambda x: np.logaddexp(np.zeros((), x.dtype), x), None),
    "log1mexp": (_log1mexp, (-3.0, -0.05)),
    "sin": (np.sin, None),
    "cos": (np.cos, None),
    "tan": (np.tan, (-1.3, 1.3)),
    "arcsin": (np.arcsin, (-1.0, 1.0)),
    "arccos": (np.arccos, (-1.0, 1.0)),
    "arctan": (np.arctan, None),
    "sinh": (np.sinh, None),
    "cosh": (np.cosh, None),
    "tanh": (np.tanh, None),
    "erf": (sp.erf, None),
    "erfc": (sp.erfc, None),
    "floor": (np.floor, None),
    "ceil": (np.ceil, None),
    "round": (np.round, None),
    "isnan": (np.isnan, None),
    "isinf": (np.isinf, None),
    "logical_not": (np.logical_not, None),
}

# public name -> (NumPy reference, domain of x, domain of y); "nonzero" keeps |y| >= 0.5
BINARY = {
    "add": (np.add, None, None),
    "subtract": (np.subtract, None, None),
    "multiply": (np.multiply, None, None),
    "true_divide": (np.true_divide, None, "nonzero"),
    "floor_divide": (np.floor_divide, None, "nonzero"),
    "mod": (np.remainder, None, "nonzero"),
    "power": (np.power, (0.5, 2.0), (0.0, 2.0)),
    "maximum": (np.maximum, None, None),
    "minimum": (np.minimum, None, None),
    "arctan2": (np.arctan2, None, None),
    "logaddexp": (np.logaddexp, None, None),
    "hypot": (np.hypot, None, None),
    "lt": (np.less, None, None),
    "le": (np.less_equal, None, None),
    "gt": (np.greater, None, None),
    "ge": (np.greater_equal, None, None),
    "eq": (np.equal, None, None),
    "ne": (np.not_equal, None, None),
    "logical_and": (np.logical_and, None, None),
    "logical_or": (np.logical_or, None, None),
    "logical_xor": (np.logical_xor, None, None),
}

# documented rule: these give config.floatX when no operand is floating
FLOAT_FUNCTIONS = {
    "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "sigmoid", "softplus",
    "log1mexp", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "erf", "erfc", "true_divide", "arctan2", "logaddexp", "hypot",
}  # fmt: skip


def tol(dtype: str) -> dict:
    if dtype in ("float32", "float16"):
        return {"rtol": 2e-6, "atol": 1e-6}
    return {"rtol": 1e-10, "atol": 1e-12}


def domain_values(dom, dtype: str, shape: tuple, rng: np.random.Generator) -> np.ndarray | None:
    """Random values of ``dtype`` inside ``dom``; None when the dtype has no such values."""
    if dom == "nonzero":
        mag = domain_values((0.5, 3.0), dtype, shape, rng)
        if dtype == "bool":
            return np.ones(shape, bool)
        return mag * np.where(rng.random(shape) < 0.5, -1, 1).astype(dtype)
    low, high = dom if dom is not None else (-3.0, 3.0)
    if dtype == "bool":
        has0, has1 = low <= 0 <= high, low <= 1 <= high
        if has0 and has1:
            return rng.random(shape) < 0.5
        if has0 or has1:
            return np.full(shape, has1)
        return None
    if dtype.startswith(("int", "uint")):
        lo, hi = math.ceil(low), math.floor(high)
        if lo > hi:
            return None
        return rng.integers(lo, hi + 1, size=shape).astype(dtype)
    # quantize so that comparisons, ties and maximum/minimum see equal entries too
    v = rng.uniform(low, high, size=shape)
    if dom is None:
        v = np.round(v * 4) / 4
    return v.astype(dtype)


def static_shape(shape: tuple, known: bool) -> tuple:
    """A declared shape: length-1 axes static (so they broadcast), others known or not."""
    return tuple(d if (known or d == 1) else None for d in shape)


def expected(name: str, ref, args: list[np.ndarray]):
    """(value, dtype) NumPy gives, or None when NumPy refuses the dtypes."""
    floats = any(a.dtype.kind == "f" for a in args)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if name in FLOAT_FUNCTIONS and not floats:
                return np.asarray(ref(*(a.astype(sc.config.floatX) for a in args))), None
            out = np.asarray(ref(*args))
    except TypeError:
        return None
    return out, out.dtype.name


def check(fn, args, layouts_, known, name, ref, backend):
    syms = [
        sc.tensor(f"a{k}", static_shape(a.shape, known), a.dtype.name) for k, a in enumerate(args)
    ]
    want = expected(name, ref, args)
    if want is None:
        with pytest.raises(sc.SymcTypeError, match=name.split("_")[0][:3]):
            fn(*syms)
        return
    value, dtype = want
    out = fn(*syms)
    dtype = dtype or sc.config.floatX
    assert out.dtype == dtype, (name, [a.dtype for a in args], out.dtype, dtype)
    if known:
        assert out.shape == np.broadcast_shapes(*(a.shape for a in args))
    if dtype == "float16" and backend == "c":
        # NumPy rounds a bool to float16; the C back end has no float16 and says so
        with pytest.raises(sc.SymcCompileError, match="float16"):
            sc.function(syms, out, backend=backend)
        return
    f = sc.function(syms, out, backend=backend)
    got = f(*(relayout(a, how) for a, how in zip(args, layouts_, strict=True)))
    assert got.dtype == np.dtype(dtype)
    assert got.shape == value.shape
    if dtype in ("float32", "float64", "float16"):
        np.testing.assert_allclose(got, value.astype(dtype), **tol(dtype))
    else:
        np.testing.assert_array_equal(got, value)


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(
    dtype=st.sampled_from(ALL_DTYPES),
    shape=shapes(),
    layout=layouts,
    known=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_unary_forward(backend, name, dtype, shape, layout, known, seed):
    ref, dom = UNARY[name]
    x = domain_values(dom, dtype, shape, np.random.default_rng(seed))
    assume(x is not None)
    check(getattr(sc, name), [x], [layout], known, name, ref, backend)


def operand_shapes(draw_shape, drops, ones):
    """Two shapes that broadcast: leading axes dropped, some axes set to 1."""
    out = []
    for drop, mask in zip(drops, ones, strict=True):
        s = [1 if m else d for d, m in zip(draw_shape, mask, strict=False)]
        out.append(tuple(s[min(drop, len(s)) :]))
    return out


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    dtypes=st.tuples(st.sampled_from(ALL_DTYPES), st.sampled_from(ALL_DTYPES)),
    shape=shapes(max_dims=3),
    drops=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    ones=st.tuples(
        st.lists(st.booleans(), min_size=3, max_size=3),
        st.lists(st.booleans(), min_size=3, max_size=3),
    ),
    layout=st.tuples(layouts, layouts),
    known=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_binary_forward(backend, name, dtypes, shape, drops, ones, layout, known, seed):
    ref, dom_x, dom_y = BINARY[name]
    rng = np.random.default_rng(seed)
    sx, sy = operand_shapes(shape, drops, ones)
    x = domain_values(dom_x, dtypes[0], sx, rng)
    y = domain_values(dom_y, dtypes[1], sy, rng)
    if name == "power" and dtypes[1] not in ("bool",) and dtypes[1].startswith("int"):
        y = np.abs(y)  # NumPy refuses integers to negative integer powers
    assume(x is not None and y is not None)
    check(getattr(sc, name), [x, y], list(layout), known, name, ref, backend)


@pytest.mark.parametrize(
    "sx, sy",
    [
        ((3, 1), (1, 4)),
        ((), (2, 3)),
        ((2, 3), ()),
        ((0, 1), (1, 4)),
        ((1,), (0,)),
        ((2, 1, 3), (4, 1)),
    ],
)
def test_binary_broadcasting_cases(backend, sx, sy):
    rng = np.random.default_rng(0)
    for name, (ref, dom_x, dom_y) in BINARY.items():
        x = domain_values(dom_x, "float64", sx, rng)
        y = domain_values(dom_y, "float32", sy, rng)
        check(getattr(sc, name), [x, y], ["strided", "fortran"], True, name, ref, backend)


OPERATORS = [
    ("add", lambda a, b: a + b),
    ("subtract", lambda a, b: a - b),
    ("multiply", lambda a, b: a * b),
    ("true_divide", lambda a, b: a / b),
    ("floor_divide", lambda a, b: a // b),
    ("mod", lambda a, b: a % b),
    ("power", lambda a, b: a**b),
    ("lt", lambda a, b: a < b),
    ("le", lambda a, b: a <= b),
    ("gt", lambda a, b: a > b),
    ("ge", lambda a, b: a >= b),
    ("eq", lambda a, b: a == b),
    ("ne", lambda a, b: a != b),
]


@pytest.mark.parametrize("name, op", OPERATORS)
def test_operators_are_the_functions(backend, name, op):
    x, y = sc.matrix("x"), sc.vector("y")
    assert op(x, y) is getattr(sc, name)(x, y)
    assert op(x, 2.0) is getattr(sc, name)(x, 2.0)
    if name not in ("lt", "le", "gt", "ge", "eq", "ne"):  # Python reflects those: 2 < x is x > 2
        assert op(2.0, x) is getattr(sc, name)(2.0, x)
    # a NumPy array on the left defers to the node's reflected operator
    a = np.array([1.5, 2.5])
    f = sc.function([y], op(a, y), backend=backend)
    yv = np.array([0.5, 3.0])
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(f(yv), op(a, yv))


def test_unary_operators(backend):
    x = sc.vector("x")
    assert -x is sc.negative(x)
    assert abs(x) is sc.abs(x)
    assert +x is x
    b = sc.vector("b", dtype="bool")
    # & | ^ ~ are NumPy's bitwise operators (logical on booleans): see test_operators.py
    assert ~b is sc.invert(b)
    assert (b & b) is sc.bitwise_and(b, b)
    assert (b | b) is sc.bitwise_or(b, b)
    assert (b ^ b) is sc.bitwise_xor(b, b)


@SETTINGS
@given(
    shapes_=st.sampled_from([((3, 1), (1, 4), (3, 4)), ((), (2,), (3, 1)), ((2, 0), (1,), ())]),
    dtypes=st.tuples(st.sampled_from(ALL_DTYPES), st.sampled_from(ALL_DTYPES)),
    cond_dtype=st.sampled_from(["bool", "int64", "float64"]),
    layout=layouts,
    seed=st.integers(0, 2**32 - 1),
)
def test_where(backend, shapes_, dtypes, cond_dtype, layout, seed):
    rng = np.random.default_rng(seed)
    sc_, sa, sb = shapes_
    c = domain_values(None, cond_dtype, sc_, rng)
    a = domain_values(None, dtypes[0], sa, rng)
    b = domain_values(None, dtypes[1], sb, rng)
    syms = [sc.tensor(n, v.shape, v.dtype.name) for n, v in zip("cab", (c, a, b), strict=True)]
    out = sc.where(*syms)
    want = np.where(c, a, b)
    assert out.dtype == want.dtype.name
    assert out.shape == want.shape
    got = sc.function(syms, out, backend=backend)(relayout(c, layout), a, relayout(b, layout))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_where_python_scalars_are_weak(backend):
    c = sc.vector("c", dtype="bool")
    x = sc.vector("x", dtype="float32")
    assert sc.where(c, x, 0.0).dtype == "float32"
    assert sc.where(c, 1.0, x).dtype == "float32"
    assert sc.where(c, 1, 2).dtype == "int64"
    f = sc.function([c, x], sc.where(c, 1.0, x), backend=backend)
    got = f(np.array([True, False]), np.array([5.0, 7.0], "float32"))
    np.testing.assert_array_equal(got, np.array([1.0, 7.0], "float32"))


@SETTINGS
@given(
    dtype=st.sampled_from(["float32", "float64", "int64"]),
    bounds=st.sampled_from([(-1.0, 1.0), (0, None), (None, 0.5), (-1, 2), (1.0, -1.0)]),
    shape=shapes(),
    layout=layouts,
    seed=st.integers(0, 2**32 - 1),
)
def test_clip(backend, dtype, bounds, shape, layout, seed):
    x = domain_values(None, dtype, shape, np.random.default_rng(seed))
    v = sc.tensor("x", shape, dtype)
    out = sc.clip(v, *bounds)
    lo, hi = bounds
    want = x
    if lo is not None:
        want = np.maximum(want, lo)
    if hi is not None:
        want = np.minimum(want, hi)
    assert out.dtype == want.dtype.name
    got = sc.function([v], out, backend=backend)(relayout(x, layout))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_clip_with_array_bounds(backend):
    x, lo, hi = sc.matrix("x"), sc.vector("lo"), sc.vector("hi")
    f = sc.function([x, lo, hi], sc.clip(x, lo, hi), backend=backend)
    xv = np.arange(-6.0, 6.0).reshape(3, 4)
    lov, hiv = np.array([-5.0, 0, 1, -1]), np.array([0.0, 1, 4, 5])
    np.testing.assert_array_equal(f(xv, lov, hiv), np.clip(xv, lov, hiv))


CAST_DTYPES = ["bool", "int8", "int32", "int64", "uint8", "float32", "float64"]


@SETTINGS
@given(
    src=st.sampled_from(CAST_DTYPES),
    dst=st.sampled_from(CAST_DTYPES),
    shape=shapes(),
    layout=layouts,
    seed=st.integers(0, 2**32 - 1),
)
def test_cast(backend, src, dst, shape, layout, seed):
    rng = np.random.default_rng(seed)
    # in range of every destination: casting out-of-range values is undefined in C
    x = domain_values((0.0, 100.0), src, shape, rng)
    v = sc.tensor("x", shape, src)
    out = sc.cast(v, dst)
    assert out.dtype == dst
    if src == dst:
        assert out is v
    got = sc.function([v], out, backend=backend)(relayout(x, layout))
    want = x.astype(dst)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_cast_truncates_toward_zero(backend):
    v = sc.vector("v")
    f = sc.function([v], sc.cast(v, "int64"), backend=backend)
    xv = np.array([-2.7, -0.5, 0.5, 2.7, 3.0])
    np.testing.assert_array_equal(f(xv), xv.astype("int64"))
    assert v.astype("float32").dtype == "float32"
    with pytest.raises(sc.SymcTypeError):
        sc.cast(v, "complex128")


@pytest.mark.parametrize("decimals", [-2, -1, 1, 2, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_round_decimals(backend, decimals, dtype):
    rng = np.random.default_rng(decimals + 10)
    if dtype == "int64":
        xv = np.array([15, 25, -15, -25, 149, 150, 250, 0, 7])
    else:
        xv = np.concatenate(
            [rng.uniform(-500, 500, 20), [0.125, 0.375, 2.5, -2.5, 1.005, 125.0, 150.0, 250.0]]
        ).astype(dtype)
    v = sc.vector("v", dtype=dtype)
    out = sc.round(v, decimals)
    want = np.round(xv, decimals)
    assert out.dtype == want.dtype.name
    got = sc.function([v], out, backend=backend)(xv)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_round_refuses_bad_decimals():
    with pytest.raises(sc.SymcTypeError, match="decimals"):
        sc.round(sc.vector("v"), 1.5)
    with pytest.raises(sc.SymcTypeError, match="round"):
        sc.round(sc.vector("b", dtype="bool"), 1)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_out_of_domain_nan_where_numpy(backend, name):
    ref, _ = UNARY[name]
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1.5, -1.5]
    for dtype in ("float32", "float64"):
        xv = np.array(special + list(np.linspace(-6, 6, 25)), dtype=dtype)
        v = sc.vector("v", dtype=dtype)
        got = sc.function([v], getattr(sc, name)(v), backend=backend)(xv)
        with np.errstate(all="ignore"):
            want = np.asarray(ref(xv))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        if want.dtype == bool:
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, equal_nan=True, **tol(dtype))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_nan_where_numpy(backend, name):
    ref, _, _ = BINARY[name]
    pts = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, 1.0, 2.5, -0.5])
    xv, yv = np.meshgrid(pts, pts)
    x, y = sc.matrix("x"), sc.matrix("y")
    got = sc.function([x, y], getattr(sc, name)(x, y), backend=backend)(xv, yv)
    with np.errstate(all="ignore"):
        want = ref(xv, yv)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, equal_nan=True, **tol("float64"))


# --- gradients ----------------------------------------------------------------

# name -> domain (low, high) for verify_grad points, away from kinks and poles
UNARY_GRAD = {
    "negative": (-2, 2), "abs": (0.2, 2), "square": (-2, 2), "exp": (-2, 2),
    "expm1": (-2, 2), "log": (0.3, 3), "log1p": (-0.7, 3), "log2": (0.3, 3),
    "log10": (0.3, 3), "sqrt": (0.3, 3), "sigmoid": (-4, 4), "softplus": (-4, 4),
    "log1mexp": (-3, -0.1), "sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2),
    "arcsin": (-0.8, 0.8), "arccos": (-0.8, 0.8), "arctan": (-3, 3), "sinh": (-2, 2),
    "cosh": (-2, 2), "tanh": (-2, 2), "erf": (-2, 2), "erfc": (-2, 2),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(UNARY_GRAD))
def test_unary_grad(backend, name):
    rng = np.random.default_rng(len(name))
    low, high = UNARY_GRAD[name]
    pt = rng.uniform(low, high, size=(2, 3))
    if name == "abs":
        pt *= np.where(rng.random((2, 3)) < 0.5, -1, 1)
    sc.verify_grad(getattr(sc, name), [pt], rng=rng, backend=backend)


def test_unary_grad_float32(backend):
    rng = np.random.default_rng(1)
    pt = rng.uniform(0.3, 2, size=(3,)).astype("float32")
    for name in ("exp", "log", "tanh", "sqrt", "sigmoid"):
        sc.verify_grad(getattr(sc, name), [pt], rng=rng, backend=backend)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "sign"])
def test_piecewise_constant_grad_is_zero(backend, name):
    x = sc.vector("x")
    g = sc.grad(sc.sum(getattr(sc, name)(x) * x), x)
    xv = np.array([-2.5, -1.0, -0.3, 0.0, 0.5, 1.7, 2.5])
    got = sc.function([x], g, backend=backend)(xv)
    # d/dx (f(x) * x) = f(x) when f' = 0
    np.testing.assert_array_equal(got, getattr(np, name)(xv))
    sc.verify_grad(getattr(sc, name), [np.array([-2.3, -0.7, 0.3, 1.2])], backend=backend)


def test_round_decimals_grad_is_zero(backend):
    x = sc.vector("x")
    g = sc.grad(sc.sum(sc.round(x, 2)), x)
    np.testing.assert_array_equal(
        sc.function([x], g, backend=backend)(np.array([0.123, -4.5678])), [0.0, 0.0]
    )


# name -> (x domain, y domain) for verify_grad points, (3, 1) by (1, 4)
BINARY_GRAD = {
    "add": ((-2, 2), (-2, 2)),
    "subtract": ((-2, 2), (-2, 2)),
    "multiply": ((-2, 2), (-2, 2)),
    "true_divide": ((-2, 2), (0.5, 2)),
    "power": ((0.5, 2), (-2, 2)),
    "maximum": ((-2, 2), (-2, 2)),
    "minimum": ((-2, 2), (-2, 2)),
    "arctan2": ((-2, 2), (0.3, 2)),
    "logaddexp": ((-3, 3), (-3, 3)),
    "hypot": ((0.3, 2), (-2, 2)),
}


@pytest.mark.parametrize("name", sorted(BINARY_GRAD))
def test_binary_grad_broadcasting(backend, name):
    rng = np.random.default_rng(len(name) + 7)
    (lx, hx), (ly, hy) = BINARY_GRAD[name]
    x = rng.uniform(lx, hx, size=(3, 1))
    y = rng.uniform(ly, hy, size=(1, 4))
    if name in ("maximum", "minimum"):
        y = x.max() + 0.5 + y  # no ties: the 0.5 split is tested below
        y[0, ::2] = x.min() - 1.0
    sc.verify_grad(getattr(sc, name), [x, y], rng=rng, backend=backend)
    # same shapes, no broadcasting
    sc.verify_grad(
        getattr(sc, name), [x[:, :1] + 0 * y[:1, :1], y[:1, :1] + 0 * x], backend=backend
    )


def test_mod_and_floor_divide_grad(backend):
    x = np.array([[0.3], [2.75], [-1.9]])
    y = np.array([[0.7, -1.3, 2.2, -0.45]])
    # x / y stays away from integers, where mod and floor_divide jump
    assert np.all(np.abs(x / y - np.round(x / y)) > 0.05)
    sc.verify_grad(sc.mod, [x, y], backend=backend)
    sc.verify_grad(sc.floor_divide, [x, y], backend=backend)
    xs, ys = sc.matrix("x"), sc.matrix("y")
    gx, gy = sc.grad(sc.sum(xs % ys), [xs, ys])
    got_x, got_y = sc.function([xs, ys], [gx, gy], backend=backend)(
        x * np.ones((1, 4)), y * np.ones((3, 1))
    )
    np.testing.assert_array_equal(got_x, np.ones((3, 4)))
    np.testing.assert_array_equal(got_y, -np.floor_divide(x, y))


def test_where_grad_goes_to_selected_branch(backend):
    x, a, b = sc.vector("x"), sc.vector("a"), sc.vector("b")
    out = sc.where(x > 0, a * 2, b * 3)
    ga, gb = sc.grad(sc.sum(out), [a, b])
    xv = np.array([-1.0, 2.0, 0.0, 3.0])
    got_a, got_b = sc.function([x, a, b], [ga, gb], backend=backend)(xv, xv, xv)
    np.testing.assert_array_equal(got_a, [0, 2, 0, 2])
    np.testing.assert_array_equal(got_b, [3, 0, 3, 0])
    c = np.array([True, False, True])
    sc.verify_grad(lambda p, q: sc.where(c, p, q), [np.ones(3), np.zeros((2, 1))], backend=backend)


def test_clip_grad(backend):
    x = sc.vector("x")
    g = sc.grad(sc.sum(sc.clip(x, -1.0, 1.0)), x)
    got = sc.function([x], g, backend=backend)(np.array([-2.0, -1.0, 0.0, 1.0, 3.0]))
    # ties with a bound split 0.5/0.5, as maximum/minimum do
    np.testing.assert_array_equal(got, [0.0, 0.5, 1.0, 0.5, 0.0])
    sc.verify_grad(
        lambda v: sc.clip(v, -1.0, 1.0), [np.array([-2.0, -0.5, 0.3, 1.5])], backend=backend
    )


def test_abs_grad_at_zero_is_zero(backend):
    x = sc.vector("x")
    g = sc.grad(sc.sum(abs(x)), x)
    got = sc.function([x], g, backend=backend)(np.array([0.0, -0.0, 2.0, -3.0]))
    np.testing.assert_array_equal(got, [0.0, 0.0, 1.0, -1.0])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_half(backend, name):
    x, y = sc.vector("x"), sc.vector("y")
    gx, gy = sc.grad(sc.sum(getattr(sc, name)(x, y)), [x, y])
    xv, yv = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0])
    got_x, got_y = sc.function([x, y], [gx, gy], backend=backend)(xv, yv)
    if name == "maximum":
        np.testing.assert_array_equal(got_x, [0.5, 1.0, 0.0])
        np.testing.assert_array_equal(got_y, [0.5, 0.0, 1.0])
    else:
        np.testing.assert_array_equal(got_x, [0.5, 0.0, 1.0])
        np.testing.assert_array_equal(got_y, [0.5, 1.0, 0.0])
    # maximum(x, x) is x: the two halves add up to 1
    g = sc.grad(sc.sum(getattr(sc, name)(x, x)), x)
    np.testing.assert_array_equal(sc.function([x], g, backend=backend)(xv), [1.0, 1.0, 1.0])


def test_pow_grad_at_zero(backend):
    x, y = sc.vector("x"), sc.vector("y")
    gx, gy = sc.grad(sc.sum(x**y), [x, y])
    f = sc.function([x, y], [gx, gy], backend=backend)
    xv = np.array([0.0, 0.0, 0.0, 0.0, 2.0, -2.0])
    yv = np.array([0.0, 1.0, 2.0, 3.0, 0.0, 2.0])
    got_x, got_y = f(xv, yv)
    # d/dx x**y = y x**(y-1), 0 where y == 0; d/dy = x**y log x, 0 where x == 0
    np.testing.assert_array_equal(got_x, [0.0, 1.0, 0.0, 0.0, 0.0, -4.0])
    np.testing.assert_allclose(got_y[:5], [0.0, 0.0, 0.0, 0.0, np.log(2.0)])
    assert np.isnan(got_y[5])  # log of a negative base
    # a Python-scalar exponent
    g2 = sc.grad(sc.sum(x**2), x)
    np.testing.assert_array_equal(sc.function([x], g2, backend=backend)(xv), 2 * xv)
    g1 = sc.grad(sc.sum(x**1), x)
    np.testing.assert_array_equal(sc.function([x], g1, backend=backend)(xv), np.ones(6))


def test_integer_operands_get_no_gradient(backend):
    x, i = sc.vector("x"), sc.ivector("i")
    g = sc.grad(sc.sum(x * i + x**i), x)
    got = sc.function([x, i], g, backend=backend)(np.array([2.0, 3.0]), np.array([1, 2]))
    np.testing.assert_allclose(got, [1 + 1, 2 + 6])


def test_shape_mismatch_names_op_shapes_and_line():
    x, y = sc.tensor("x", (3, 4)), sc.tensor("y", (5,))
    with pytest.raises(sc.SymcShapeError) as err:
        x + y  # noqa: B018
    msg = str(err.value)
    assert "add" in msg and "(3, 4)" in msg and "(5,)" in msg
    assert "test_elemwise.py" in msg and "x + y" in msg


def test_dtype_refusal_names_op_and_dtypes():
    b = sc.vector("b", dtype="bool")
    with pytest.raises(sc.SymcTypeError) as err:
        b - b  # noqa: B018
    msg = str(err.value)
    assert "sub" in msg and "bool" in msg and "test_elemwise.py" in msg


def test_cast_grad(backend):
    pt = np.array([0.5, -1.25, 2.0], "float32")
    sc.verify_grad(lambda v: sc.cast(v, "float64") ** 2, [pt], backend=backend)
    x = sc.vector("x")
    g = sc.grad(sc.sum(sc.cast(sc.cast(x, "float32"), "float64") * 3.0), x)
    np.testing.assert_array_equal(sc.function([x], g, backend=backend)(pt), [3.0, 3.0, 3.0])
    # through an integer the value is piecewise constant: the gradient is zero
    g0 = sc.grad(sc.sum(sc.cast(sc.cast(x, "int64"), "float64")), x)
    np.testing.assert_array_equal(sc.function([x], g0, backend=backend)(pt), [0.0, 0.0, 0.0])


def test_elemwise_op_applied_directly_to_integers(backend):
    """Without the API's casts the op still types and computes float rows in floatX."""
    from symc.ops.elemwise import Elemwise

    i = sc.ivector("i")
    outs = [Elemwise("sigmoid")(i), Elemwise("log1mexp")(-i), Elemwise("truediv")(i, i + 1)]
    assert [o.dtype for o in outs] == [sc.config.floatX] * 3
    got = sc.function([i], outs, backend=backend)(np.array([1, 2]))
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(got[0], sp.expit(x))
    np.testing.assert_allclose(got[1], np.log(-np.expm1(-x)))
    np.testing.assert_allclose(got[2], x / (x + 1))
