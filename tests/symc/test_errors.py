"""Every user mistake raises a ``SymcError`` subclass naming the op, the shapes or
dtypes, and the line of the user's own code (here: this file's lines).

Each test records the line of the offending statement with ``next_line()``,
written on the line just above it.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import symc as sc


def next_line() -> str:
    """``test_errors.py:N`` for the line after the caller's."""
    return f"test_errors.py:{inspect.currentframe().f_back.f_lineno + 1}"


def check(info, *facts: str) -> str:
    """Every fact appears in the message, which is a SymcError's."""
    msg = str(info.value)
    assert isinstance(info.value, sc.SymcError)
    for fact in facts:
        assert fact in msg, f"{fact!r} missing from:\n{msg}"
    return msg


# ---------------------------------------------------------------- shapes


def test_broadcast_mismatch_when_building():
    a, b = sc.vector("a", length=3), sc.vector("b", length=4)
    with pytest.raises(sc.SymcShapeError) as info:
        where = next_line()
        a + b
    check(info, "add", "(3,)", "(4,)", where)
    assert isinstance(info.value, ValueError)  # code catching NumPy's errors keeps working


def test_broadcast_mismatch_when_calling(backend):
    u, v = sc.vector("u"), sc.vector("v")
    built = next_line()
    f = sc.function([u, v], u * v, backend=backend)
    with pytest.raises(sc.SymcShapeError) as info:
        called = next_line()
        f(np.zeros(3), np.zeros(4))
    check(info, "mul", "(3,)", "(4,)", "float64", built, called)


def test_unknown_length_one_does_not_broadcast(backend):
    u, v = sc.vector("u"), sc.vector("v")
    built = next_line()
    f = sc.function([u, v], u - v, backend=backend)
    with pytest.raises(sc.SymcShapeError) as info:
        f(np.zeros(3), np.zeros(1))
    check(info, "sub", "length 1", "(1,) float64", built)


def test_matmul_mismatch():
    pytest.importorskip("symc.api.linalg")
    M, N = sc.matrix("M", shape=(3, 4)), sc.matrix("N", shape=(5, 2))
    with pytest.raises(sc.SymcShapeError) as info:
        where = next_line()
        M @ N
    check(info, "matmul", "(3, 4)", "(5, 2)", where)


def test_reshape_mismatch_when_building():
    a = sc.vector("a", length=6)
    with pytest.raises(sc.SymcShapeError) as info:
        where = next_line()
        sc.reshape(a, (4, 2))
    check(info, "reshape", "(6,)", "(4, 2)", "float64", where)


def test_reshape_mismatch_when_calling(backend):
    u = sc.vector("u")
    built = next_line()
    f = sc.function([u], sc.reshape(u, (2, -1)), backend=backend)
    with pytest.raises(sc.SymcShapeError) as info:
        f(np.zeros(3))
    check(info, "reshape", "(3,)", built)


def test_reduction_axis_out_of_range():
    a = sc.matrix("a")
    with pytest.raises(sc.SymcValueError) as info:
        where = next_line()
        sc.sum(a, axis=2)
    check(info, "sum", "axis 2", "(?, ?)", where)


# ---------------------------------------------------------------- dtypes


def test_float_passed_for_int_input(backend):
    i = sc.ivector("i")
    f = sc.function([i], i * 2, backend=backend)
    with pytest.raises(sc.SymcTypeError) as info:
        where = next_line()
        f(np.array([1.5, 2.0]))
    check(info, "input 0 (i)", "int64", "float64", "(2,)", where)
    assert isinstance(info.value, TypeError)


def test_update_of_wrong_dtype():
    count = sc.shared(np.array(0, dtype="int64"), name="count")
    x = sc.scalar("x")
    with pytest.raises(sc.SymcTypeError) as info:
        where = next_line()
        sc.function([x], x, updates=[(count, count + x)])
    check(info, "function", "'count'", "int64", "float64", where)


def test_grad_wrt_integer_variable():
    i = sc.ivector("i")
    x = sc.vector("x")
    cost = sc.sum(x * i)
    with pytest.raises(sc.SymcTypeError) as info:
        where = next_line()
        sc.grad(cost, i)
    check(info, "grad", "'i'", "int64", where)


def test_elementwise_dtype_numpy_refuses():
    b = sc.tensor("b", shape=(None,), dtype="bool")
    with pytest.raises(sc.SymcTypeError) as info:
        where = next_line()
        b - b  # NumPy refuses to subtract booleans
    check(info, "sub", "bool", where)


# ---------------------------------------------------------------- compiled functions


def test_wrong_number_of_arguments(backend):
    x, y = sc.vector("x"), sc.scalar("y")
    built = next_line()
    f = sc.function([x, y], x * y, backend=backend)
    with pytest.raises(sc.SymcInputError) as info:
        where = next_line()
        f(np.zeros(2))
    check(info, "function", "expected 2 arguments", "float64[?,]", "got 1", where, built)


def test_unused_input():
    x, y = sc.vector("x"), sc.matrix("y")
    with pytest.raises(sc.SymcDisconnectedError) as info:
        where = next_line()
        sc.function([x, y], x * 2)
    check(info, "function", "input 1 (y)", "(?, ?) float64", "on_unused_input", where)


def test_output_depends_on_unlisted_input():
    x = sc.vector("x")
    defined = next_line()
    hidden = sc.scalar("hidden", dtype="float32")
    with pytest.raises(sc.SymcInputError) as info:
        where = next_line()
        sc.function([x], x * hidden)
    check(info, "function", "hidden", "float32", "not among the inputs", where, defined)


def test_unknown_backend():
    x = sc.vector("x")
    with pytest.raises(sc.SymcValueError) as info:
        where = next_line()
        sc.function([x], x, backend="fortran")
    check(info, "function", "'fortran'", where)


@pytest.mark.parametrize("name", ["c", "cuda"])
def test_unavailable_backend(name):
    x = sc.vector("x")
    try:
        where = next_line()
        sc.function([x], x * 2, backend=name)
    except sc.SymcCompileError as err:
        assert isinstance(err, sc.SymcBackendUnavailableError) or "compile" in str(err)
        assert name in str(err) and where in str(err), str(err)
        return
    pytest.skip(f"backend {name!r} is available here")


def test_backend_unavailable_is_a_compile_error():
    assert issubclass(sc.SymcBackendUnavailableError, sc.SymcCompileError)
    x = sc.vector("x")
    with pytest.raises(sc.SymcCompileError) as info:
        where = next_line()
        sc.function([x], x).export("unused_dir")
    check(info, "export", where)


# ---------------------------------------------------------------- gradients


def test_non_scalar_cost():
    x = sc.matrix("x", dtype="float32")
    with pytest.raises(sc.SymcGradError) as info:
        where = next_line()
        sc.grad(x * 2, x)
    check(info, "grad", "scalar", "(?, ?) float32", "sc.jacobian", where)


def test_integer_cost():
    i = sc.ivector("i")
    x = sc.vector("x")
    with pytest.raises(sc.SymcTypeError) as info:
        where = next_line()
        sc.grad(sc.sum(i), x)
    check(info, "grad", "floating", "int64", where)


def test_grad_wrt_variable_not_in_cost():
    x = sc.vector("x")
    defined = next_line()
    y = sc.matrix("y")
    with pytest.raises(sc.SymcDisconnectedError) as info:
        where = next_line()
        sc.grad(sc.sum(x**2), [x, y])
    check(info, "grad", "'y'", "(?, ?) float64", "disconnected='zero'", where, defined)


def test_jacobian_needs_static_shape():
    x = sc.vector("x")
    with pytest.raises(sc.SymcGradError) as info:
        where = next_line()
        sc.jacobian(sc.exp(x), x)
    check(info, "jacobian", "(?,)", where)


def test_bad_disconnected_option():
    x = sc.vector("x")
    with pytest.raises(sc.SymcValueError) as info:
        where = next_line()
        sc.grad(sc.sum(x), x, disconnected="warn")
    check(info, "grad", "'warn'", where)


def test_op_without_gradient_rule():
    x = sc.vector("x")

    class NoGrad(sc.Op):
        def infer(self, t):
            return t

        def impl(self, v):
            return v

    built = next_line()
    y = NoGrad()(x)
    with pytest.raises(sc.SymcGradError) as info:
        sc.grad(sc.sum(y), x)
    check(info, "nograd", "no gradient", built)


def test_verify_grad_failure_names_entry_and_line():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Twice(sc.Op):
        def infer(self, t):
            return t

        def impl(self, v):
            return 2 * v

        def pullback(self, inputs, out, g):
            return [g]  # wrong: should be 2 g

    with pytest.raises(sc.SymcVerifyGradError) as info:
        where = next_line()
        sc.verify_grad(lambda x: Twice()(x), [np.array([1.0, 2.0])])
    check(info, "input 0", "index", "analytic", "numeric", where)
    assert isinstance(info.value, AssertionError)


# ---------------------------------------------------------------- the hierarchy


@pytest.mark.parametrize(
    "cls, builtin",
    [
        ("SymcTypeError", TypeError),
        ("SymcShapeError", ValueError),
        ("SymcValueError", ValueError),
        ("SymcIndexError", IndexError),
        ("SymcInputError", TypeError),
        ("SymcGradError", ValueError),
        ("SymcDisconnectedError", ValueError),
        ("SymcVerifyGradError", AssertionError),
        ("SymcCompileError", RuntimeError),
        ("SymcBackendUnavailableError", RuntimeError),
        ("SymcRewriteError", RuntimeError),
    ],
)
def test_hierarchy(cls, builtin):
    err = getattr(sc, cls)
    assert issubclass(err, sc.SymcError) and issubclass(err, builtin)


def test_location_is_attached_for_tools():
    a, b = sc.vector("a", length=2), sc.vector("b", length=5)
    with pytest.raises(sc.SymcShapeError) as info:
        line = inspect.currentframe().f_lineno + 1
        a * b
    filename, lineno = info.value.location
    assert filename == __file__ and lineno == line
