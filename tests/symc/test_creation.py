"""Array creation: zeros/ones/full/*_like, arange, constant, shared; values and static shapes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symc as sc

from .arrays import shapes

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(
    shape=shapes(max_dims=3),
    dtype=st.sampled_from([None, "float32", "int64", "bool", "int8"]),
    symbolic=st.lists(st.booleans(), min_size=3, max_size=3),
    n_value=st.integers(0, 3),
)
def test_zeros_ones_full(backend, shape, dtype, symbolic, n_value):
    n = sc.iscalar("n")
    flags = symbolic[: len(shape)]
    lengths = [n if s else d for d, s in zip(shape, flags, strict=True)]
    shape = tuple(n_value if s else d for d, s in zip(shape, flags, strict=True))
    static = tuple(None if s else d for d, s in zip(shape, flags, strict=True))
    want_dt = dtype or sc.config.floatX
    outs = [sc.zeros(lengths, dtype), sc.ones(lengths, dtype), sc.full(lengths, 3, dtype)]
    assert all(o.shape == static for o in outs)
    assert outs[0].dtype == outs[1].dtype == want_dt
    full_want = np.full(shape, 3, dtype)  # full infers its dtype from the value, as NumPy
    assert outs[2].dtype == full_want.dtype.name
    got = sc.function([n], outs, backend=backend, on_unused_input="ignore")(n_value)
    for g, want in zip(
        got, [np.zeros(shape, want_dt), np.ones(shape, want_dt), full_want], strict=True
    ):
        assert g.dtype == want.dtype
        np.testing.assert_array_equal(g, want)


def test_shape_forms(backend):
    assert sc.zeros(3).shape == (3,)
    assert sc.zeros(()).shape == ()
    assert sc.ones((2, np.int64(3))).shape == (2, 3)
    assert sc.full((2, 2), 1.5).dtype == sc.config.floatX
    assert sc.full((2,), np.float32(1.5)).dtype == "float32"
    with sc.config.change(floatX="float32"):
        assert sc.zeros(3).dtype == "float32"
        assert sc.full(3, 0.5).dtype == "float32"
    # a length known through a constant node stays static
    assert sc.zeros((sc.constant(4), 2)).shape == (4, 2)


def test_full_with_symbolic_value(backend):
    x = sc.vector("x", dtype="float32")
    n = sc.iscalar("n")
    out = sc.full((n, 3), x, dtype="float64")
    assert out.dtype == "float64" and out.shape == (None, 3)
    out2 = sc.full((2, 3), x)
    assert out2.dtype == "float32" and out2.shape == (2, 3)
    f = sc.function([x, n], [out, out2], backend=backend)
    a, b = f(np.array([1.0, 2.0, 3.0], "float32"), 2)
    np.testing.assert_array_equal(a, np.full((2, 3), [1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(b, np.full((2, 3), [1.0, 2.0, 3.0], "float32"))
    # the gradient of a fill w.r.t. its value sums over the filled axes
    s = sc.scalar("s")
    g = sc.grad(sc.sum(sc.full((n, 3), s) * 2.0), s)
    assert sc.function([s, n], g, backend=backend)(1.0, 4) == 24.0


def test_creation_errors():
    with pytest.raises(sc.SymcShapeError, match="negative"):
        sc.zeros((2, -1))
    with pytest.raises(sc.SymcTypeError, match="length"):
        sc.zeros((2.0, 3))
    with pytest.raises(sc.SymcTypeError, match="length"):
        sc.ones((sc.scalar("f"), 3))
    with pytest.raises(sc.SymcTypeError, match="length"):
        sc.ones((sc.ivector("v"), 3))
    with pytest.raises(sc.SymcShapeError) as err:
        sc.full((2, 3), sc.vector("x", length=4))
    assert "test_creation.py" in str(err.value)
    with pytest.raises(sc.SymcTypeError):
        sc.zeros(3, dtype="complex64")


def test_negative_symbolic_length_at_run_time(backend):
    n = sc.iscalar("n")
    f = sc.function([n], sc.zeros((n, 2)), backend=backend)
    with pytest.raises(sc.SymcError, match="negative"):
        f(-1)


@pytest.mark.parametrize("fn", ["zeros_like", "ones_like"])
def test_like(backend, fn):
    x = sc.tensor("x", (None, 3, 1), "float32")
    out = getattr(sc, fn)(x)
    assert out.shape == (None, 3, 1) and out.dtype == "float32"
    out_i = getattr(sc, fn)(x, dtype="int32")
    assert out_i.dtype == "int32" and out_i.shape == (None, 3, 1)
    assert getattr(sc, fn)(x, dtype=np.float64).dtype == "float64"
    xv = np.ones((2, 3, 1), "float32")
    a, b = sc.function([x], [out, out_i], backend=backend)(xv)
    want = getattr(np, fn)(xv)
    assert a.dtype == np.float32 and b.dtype == np.int32
    np.testing.assert_array_equal(a, want)
    np.testing.assert_array_equal(b, want.astype("int32"))


@SETTINGS
@given(
    start=st.integers(-5, 5),
    stop=st.one_of(st.none(), st.integers(-5, 10)),
    step=st.sampled_from([1, 2, 3, -1, -2]),
    floats=st.booleans(),
    dtype=st.sampled_from([None, "float32", "int32", "int64"]),
)
def test_arange_constants(backend, start, stop, step, floats, dtype):
    args = (start, stop, step) if stop is not None else (start,)
    if floats:
        args = tuple(a / 2 for a in args)
    if dtype is not None and dtype.startswith("int") and floats:
        dtype = None
    want = np.arange(*args, dtype=dtype)
    out = sc.arange(*args, dtype=dtype)
    assert out.dtype == want.dtype.name
    assert out.shape == want.shape
    got = sc.function([], out, backend=backend)()
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want)


@SETTINGS
@given(
    start=st.integers(-5, 5),
    stop=st.integers(-5, 10),
    step=st.sampled_from([1, 2, 3, -1, -3]),
    which=st.sampled_from(["stop", "start", "step", "all"]),
)
def test_arange_symbolic_bounds(backend, start, stop, step, which):
    a, b, c = sc.iscalar("a"), sc.iscalar("b"), sc.iscalar("c")
    parts = {
        "stop": (start, b, step),
        "start": (a, stop, step),
        "step": (start, stop, c),
        "all": (a, b, c),
    }[which]
    out = sc.arange(*parts)
    assert out.shape == (None,) and out.dtype == "int64"
    f = sc.function([a, b, c], out, backend=backend, on_unused_input="ignore")
    got = f(start, stop, step)
    np.testing.assert_array_equal(got, np.arange(start, stop, step))


def test_arange_forms_and_errors(backend):
    n = sc.iscalar("n")
    assert sc.arange(n).shape == (None,)
    assert sc.arange(n, dtype="float32").dtype == "float32"
    assert sc.arange(sc.scalar("x")).dtype == "float64"
    np.testing.assert_array_equal(sc.function([n], sc.arange(n), backend=backend)(4), np.arange(4))
    with pytest.raises(sc.SymcValueError, match="step"):
        sc.arange(0, 5, 0)
    c = sc.iscalar("c")
    f = sc.function([c], sc.arange(0, 5, c), backend=backend)
    with pytest.raises(sc.SymcError, match="step"):
        f(0)
    with pytest.raises(sc.SymcShapeError):
        sc.arange(sc.ivector("v"))


def test_constant():
    src = np.arange(6.0).reshape(2, 3)
    c = sc.constant(src)
    assert c.shape == (2, 3) and c.dtype == "float64"
    src[0, 0] = 100.0  # the constant holds a copy
    assert sc.function([], c)()[0, 0] == 0.0
    assert sc.constant(np.arange(6.0).reshape(2, 3)) is c  # equal constants are one node
    assert sc.constant(np.arange(6.0).reshape(2, 3), name="k") is not c
    assert sc.constant(1.5).dtype == sc.config.floatX
    assert sc.constant(np.float32(1.5)).dtype == "float32"
    assert sc.constant(3).dtype == "int64"
    assert sc.constant(True).dtype == "bool"
    assert sc.constant([1, 2], dtype="float32").dtype == "float32"
    assert sc.constant(np.ones((1, 4))).shape == (1, 4)
    with sc.config.change(floatX="float32"):
        assert sc.constant(1.5).dtype == "float32"
    with pytest.raises(sc.SymcTypeError):
        sc.constant(c)
    with pytest.raises(sc.SymcTypeError):
        sc.constant("text")
    with pytest.raises(sc.SymcTypeError):
        sc.constant([1, [2, 3]])


def test_shared_copy_semantics(backend):
    src = np.zeros(3)
    w = sc.shared(src, name="w")
    assert w.shape == (None,) and w.dtype == "float64" and w.name == "w"
    src[0] = 5.0  # shared() copies
    np.testing.assert_array_equal(w.get_value(), np.zeros(3))
    got = w.get_value()
    got[1] = 7.0  # get_value() returns a copy
    np.testing.assert_array_equal(w.get_value(), np.zeros(3))
    new = np.ones(4)  # a different length is fine: the length was not static
    w.set_value(new)
    new[0] = 9.0  # set_value() copies
    np.testing.assert_array_equal(w.get_value(), np.ones(4))
    # borrow=True shares memory
    buf = np.full(4, 2.0)
    w.set_value(buf, borrow=True)
    assert np.shares_memory(w.get_value(borrow=True), buf)
    # compiled functions see the current value, and updates change it
    f = sc.function([], sc.sum(w), updates=[(w, w * 2)], backend=backend)
    assert f() == 8.0
    assert f() == 16.0
    np.testing.assert_array_equal(w.get_value(), np.full(4, 8.0))


def test_shared_types():
    assert sc.shared(1.5).dtype == sc.config.floatX
    assert sc.shared(np.float32(1.5)).dtype == "float32"
    assert sc.shared(np.zeros((1, 3))).shape == (1, None)
    assert sc.shared(np.zeros((2, 3)), shape=(2, 3)).shape == (2, 3)
    assert sc.shared([1, 2]).dtype == "int64"
    assert sc.shared(np.zeros(2), dtype="float32").dtype == "float32"
    with sc.config.change(floatX="float32"):
        assert sc.shared(0.5).dtype == "float32"
        assert sc.shared(np.float64(0.5)).dtype == "float64"  # NumPy scalars keep their dtype
        assert sc.constant(np.float64(0.5)).dtype == "float64"
    with pytest.raises(sc.SymcTypeError):
        sc.shared(sc.vector("x"))
    with pytest.raises(sc.SymcTypeError):
        sc.shared("text")


def test_shared_set_value_checks():
    w = sc.shared(np.zeros(3, "float32"), name="w")
    w.set_value(np.ones(3))  # float64 -> float32 is the same kind
    assert w.get_value().dtype == np.float32
    w.set_value([1, 2, 3])  # ints into floats
    np.testing.assert_array_equal(w.get_value(), [1, 2, 3])
    i = sc.shared(np.zeros(3, "int64"), name="i")
    with pytest.raises(sc.SymcTypeError) as err:
        i.set_value(np.ones(3))
    msg = str(err.value)
    assert "'i'" in msg and "float64" in msg and "int64" in msg and "test_creation.py" in msg
    with pytest.raises(sc.SymcShapeError) as err:
        w.set_value(np.ones((2, 3)))
    assert "(2, 3)" in str(err.value)
    b = sc.shared(np.zeros((1, 3)))
    with pytest.raises(sc.SymcShapeError):
        b.set_value(np.zeros((2, 3)))  # the length-1 axis is static (it broadcasts)
    with pytest.raises(sc.SymcTypeError):
        w.set_value("abc")
    with pytest.raises(sc.SymcTypeError):
        w.set_value(np.array([1 + 2j, 0, 0]))
    np.testing.assert_array_equal(w.get_value(), [1, 2, 3])  # unchanged by the failures
