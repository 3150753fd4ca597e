"""Dtype rules: NumPy promotion, NEP 50 weak Python scalars, the floatX rule, refusals.

The expected dtype is always asked of NumPy itself (running the operation on
small arrays), except where symc documents its own rule: floating functions
and true division of integer/bool operands give ``config.floatX``.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import symc as sc

DTYPES = ["bool", "int8", "int32", "int64", "uint8", "float32", "float64"]

BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply,
    "true_divide": np.true_divide, "floor_divide": np.floor_divide, "mod": np.remainder,
    "power": np.power, "maximum": np.maximum, "minimum": np.minimum, "arctan2": np.arctan2,
    "logaddexp": np.logaddexp, "hypot": np.hypot, "lt": np.less, "eq": np.equal,
    "logical_and": np.logical_and,
}  # fmt: skip
UNARY = {
    "negative": np.negative, "abs": np.abs, "sign": np.sign, "square": np.square,
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh, "floor": np.floor,
    "ceil": np.ceil, "round": np.round, "isnan": np.isnan, "logical_not": np.logical_not,
}  # fmt: skip
FLOAT_FUNCTIONS = {"true_divide", "arctan2", "logaddexp", "hypot", "exp", "log", "sqrt", "tanh"}


def numpy_dtype(fn, *dts: str) -> str | None:
    """The dtype NumPy gives on 1-element arrays of these dtypes, or None if it refuses."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(fn(*(np.ones((1,), d) for d in dts))).dtype.name
    except TypeError:
        return None


def expected_dtype(name: str, *dts: str) -> str | None:
    want = numpy_dtype(BINARY.get(name) or UNARY[name], *dts)
    if want is not None and name in FLOAT_FUNCTIONS and not any("float" in d for d in dts):
        return sc.config.floatX
    return want


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_dtype_table(name):
    fn = getattr(sc, name)
    for a, b in itertools.product(DTYPES, DTYPES):
        x, y = sc.vector("x", dtype=a), sc.matrix("y", dtype=b)
        want = expected_dtype(name, a, b)
        if want is None:
            with pytest.raises(sc.SymcTypeError) as err:
                fn(x, y)
            assert a in str(err.value) and b in str(err.value)
            assert "test_dtypes.py" in str(err.value)
        else:
            assert fn(x, y).dtype == want, (name, a, b)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_dtype_table(name):
    fn = getattr(sc, name)
    for a in DTYPES:
        want = expected_dtype(name, a)
        if want is None:
            with pytest.raises(sc.SymcTypeError):
                fn(sc.vector("x", dtype=a))
        else:
            assert fn(sc.vector("x", dtype=a)).dtype == want, (name, a)


def test_binary_dtypes_at_run_time(backend):
    """The arrays computed have the inferred dtype (a few representative pairs)."""
    for a, b in [("int8", "uint8"), ("int32", "float32"), ("bool", "int8"), ("int64", "int64")]:
        x, y = sc.vector("x", dtype=a), sc.vector("y", dtype=b)
        outs = [x + y, x * y, x // y, x / y, sc.maximum(x, y), x < y]
        got = sc.function([x, y], outs, backend=backend)(np.ones(2, a), np.ones(2, b))
        for o, g in zip(outs, got, strict=True):
            assert g.dtype.name == o.dtype, (a, b, o)


# (symc expression, the same with NumPy) on float32/int8/bool operands and Python scalars
def _weak_cases(x32, i8, b, np_x32, np_i8, np_b):
    return [
        (x32 * 2.0, np_x32 * 2.0),
        (2.0 * x32, 2.0 * np_x32),
        (x32 + 1, np_x32 + 1),
        (x32 - True, np_x32 - True),
        (x32**2, np_x32**2),
        (x32 / 3, np_x32 / 3),
        (sc.maximum(x32, 0), np.maximum(np_x32, 0)),
        (sc.clip(x32, 0.0, 1.0), np.clip(np_x32, 0.0, 1.0)),
        (sc.arctan2(x32, 1.0), np.arctan2(np_x32, 1.0)),
        (i8 + 1, np_i8 + 1),
        (i8 * -3, np_i8 * -3),
        (i8 // 2, np_i8 // 2),
        (i8 < 300, np_i8 < 300),
        (b + 1, np_b + 1),
        (b + True, np_b + True),
        (b * 1.5, np_b * 1.5),
        (i8 + 1.5, np_i8 + 1.5),
        (i8 < 2.5, np_i8 < 2.5),
        (i8 >= -1000, np_i8 >= -1000),
        # NumPy scalars and arrays are strong
        (x32 * np.float64(2.0), np_x32 * np.float64(2.0)),
        (x32 * np.float32(2.0), np_x32 * np.float32(2.0)),
        (x32 + np.ones(3), np_x32 + np.ones(3)),
        (i8 + np.int64(1), np_i8 + np.int64(1)),
        (i8 + np.array(1, "int16"), np_i8 + np.array(1, "int16")),
    ]


def test_python_scalars_are_weak(backend):
    x32 = sc.vector("x32", dtype="float32")
    i8 = sc.vector("i8", dtype="int8")
    b = sc.vector("b", dtype="bool")
    vals = (np.array([0.5, 1.5, -2.0], "float32"), np.array([1, -2, 3], "int8"))
    vals += (np.array([True, False, True]),)
    cases = _weak_cases(x32, i8, b, *vals)
    f = sc.function([x32, i8, b], [c[0] for c in cases], backend=backend, on_unused_input="ignore")
    for (node, want), got in zip(cases, f(*vals), strict=True):
        assert node.dtype == want.dtype.name, (node, want.dtype)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_weak_scalar_next_to_promoted_operands():
    # the scalar takes the promotion of all the strong operands, not the first one's
    c = sc.vector("c", dtype="bool")
    x32 = sc.vector("x", dtype="float32")
    assert sc.where(c, 0.5, x32).dtype == "float32"
    assert sc.where(c, 1, sc.vector("i", dtype="int8")).dtype == "int8"
    assert sc.where(c, 1.5, sc.vector("i", dtype="int8")).dtype == "float64"


def test_python_int_out_of_bounds_for_its_partner():
    i8 = sc.vector("i8", dtype="int8")
    with pytest.raises(sc.SymcValueError) as err:
        i8 + 300  # noqa: B018
    msg = str(err.value)
    assert "add" in msg and "300" in msg and "int8" in msg and "test_dtypes.py" in msg
    with pytest.raises(sc.SymcValueError):
        sc.vector("u", dtype="uint8") * -1  # noqa: B018


def test_floatx_rule(backend):
    i, j = sc.ivector("i"), sc.ivector("j")
    b = sc.vector("b", dtype="bool")
    assert (i / j).dtype == "float64"
    assert sc.exp(b).dtype == "float64"  # NumPy would say float16
    assert sc.sqrt(sc.vector("k", dtype="int8")).dtype == "float64"  # NumPy: float16
    with sc.config.change(floatX="float32"):
        assert (i / j).dtype == "float32"
        assert (i / 2).dtype == "float32"
        assert sc.exp(i).dtype == "float32"
        assert sc.mean(i).dtype == "float32"
        assert sc.scalar("s").dtype == "float32"
        # a Python float next to integers follows the same rule
        assert (i * 2.5).dtype == "float32"
        assert (2.5 - i).dtype == "float32"
        assert sc.maximum(i, 0.5).dtype == "float32"
        assert sc.where(i > 0, i, 0.5).dtype == "float32"
        assert (i < 2.5).dtype == "bool"
        f = sc.function([i, j], [i / j, sc.sigmoid(i)], backend=backend)
    got, sig = f(np.array([1, 7]), np.array([2, 2]))
    assert got.dtype == np.float32 and sig.dtype == np.float32
    np.testing.assert_array_equal(got, np.array([0.5, 3.5], "float32"))
    np.testing.assert_allclose(sig, 1 / (1 + np.exp(-np.array([1.0, 7.0]))), rtol=1e-6)
    # float operands keep their dtype whatever floatX is
    with sc.config.change(floatX="float32"):
        assert (sc.vector("d", dtype="float64") / i).dtype == "float64"


def test_float_function_of_ints_computes_in_float(backend):
    i = sc.ivector("i")
    outs = [sc.sigmoid(i), sc.log1mexp(-i), i / 2, sc.softplus(i)]
    got = sc.function([i], outs, backend=backend)(np.array([1, 3]))
    x = np.array([1.0, 3.0])
    np.testing.assert_allclose(got[0], 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(got[1], np.log(-np.expm1(-x)))
    np.testing.assert_array_equal(got[2], x / 2)
    np.testing.assert_allclose(got[3], np.log1p(np.exp(x)))


def test_cast_dtypes():
    v = sc.vector("v", dtype="int32")
    assert sc.cast(v, "float32").dtype == "float32"
    assert sc.cast(v, np.float64).dtype == "float64"
    assert sc.cast(v, "int32") is v
    with pytest.raises(sc.SymcTypeError):
        sc.cast(v, "not-a-dtype")
