"""Shape ops against NumPy: transpose, expand_dims, squeeze, reshape, flatten,
concatenate, stack, broadcast_to; their gradients; their error messages."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symc as sc
from symc.ops.alloc import ShapeI

from .arrays import ALL_DTYPES, FLOAT_DTYPES, layouts, one_array, relayout, shapes, values
from .checks import check_exact, grad_point, located, static_shape_ok, symbolic_input

# ``backend`` is a read-only string, so sharing it across examples is safe
_FIXTURE_OK = [HealthCheck.function_scoped_fixture]
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=_FIXTURE_OK)
GRAD_SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=_FIXTURE_OK)


# --- forward ---------------------------------------------------------------------


@SETTINGS
@given(**one_array())
def test_transpose(backend, shape, dtype, how, static, data):
    rng = np.random.default_rng(0)
    a = relayout(values(dtype, shape, rng), how)
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    x = symbolic_input("x", a, static)
    outs = [x.T, sc.transpose(x, perm), x.transpose(*perm)]
    got = sc.function([x], outs, backend=backend)(a)
    for node, g, want in zip(outs, got, [a.T, a.transpose(perm), a.transpose(perm)], strict=True):
        check_exact(g, want)
        static_shape_ok(node, want, exact=static)


@SETTINGS
@given(shape=shapes(max_dims=3), dtype=st.sampled_from(ALL_DTYPES), how=layouts, data=st.data())
def test_expand_dims(backend, shape, dtype, how, data):
    a = relayout(values(dtype, shape, np.random.default_rng(1)), how)
    nd = len(shape) + 1
    axis = data.draw(st.integers(-nd, nd - 1))
    two = tuple(data.draw(st.permutations(range(nd + 1)))[:2])
    x = symbolic_input("x", a, True)
    y1, y2 = sc.expand_dims(x, axis), sc.expand_dims(x, two)
    got = sc.function([x], [y1, y2], backend=backend)(a)
    check_exact(got[0], np.expand_dims(a, axis))
    check_exact(got[1], np.expand_dims(a, two))
    assert y1.type.shape == np.expand_dims(a, axis).shape


@SETTINGS
@given(**one_array(shapes(max_side=2)))
def test_squeeze(backend, shape, dtype, how, static, data):
    a = relayout(values(dtype, shape, np.random.default_rng(2)), how)
    ones = [k for k, d in enumerate(shape) if d == 1]
    x = symbolic_input("x", a, static)
    outs, wants = [], []
    if static:  # axis=None drops the axes known to have length 1
        outs.append(sc.squeeze(x))
        wants.append(np.squeeze(a))
    if ones:
        axis = data.draw(st.sampled_from(ones))
        axis = axis - len(shape) if data.draw(st.booleans()) else axis
        outs.append(sc.squeeze(x, axis))
        wants.append(np.squeeze(a, axis))
    if not outs:
        return
    got = sc.function([x], outs, backend=backend)(a)
    for node, g, w in zip(outs, got, wants, strict=True):
        check_exact(g, w)
        static_shape_ok(node, w)


def _reshapes(shape):
    size = int(np.prod(shape, dtype=np.int64))
    out = [(size,), (-1,), (1, size, 1), tuple(reversed(shape)), ()]
    if size:
        out += [(-1, 1), (1, -1)]
        if len(shape) >= 2:
            out.append((shape[0], -1))
    return [s for s in out if s != () or size == 1]


@SETTINGS
@given(**one_array())
def test_reshape_and_flatten(backend, shape, dtype, how, static, data):
    a = relayout(values(dtype, shape, np.random.default_rng(3)), how)
    target = data.draw(st.sampled_from(_reshapes(shape)))
    x = symbolic_input("x", a, static)
    outs = [sc.reshape(x, target), x.flatten(), sc.flatten(x)]
    got = sc.function([x], outs, backend=backend)(a)
    check_exact(got[0], a.reshape(target))
    check_exact(got[1], a.flatten())
    check_exact(got[2], a.flatten())
    static_shape_ok(outs[0], a.reshape(target), exact=static)


@SETTINGS
@given(shape=shapes(min_dims=1, min_side=1), how=layouts, data=st.data())
def test_reshape_symbolic_lengths(backend, shape, how, data):
    a = relayout(values("float64", shape, np.random.default_rng(4)), how)
    x = symbolic_input("x", a, data.draw(st.booleans()))
    n = sc.iscalar("n")
    y = sc.reshape(x, (n, -1))
    z = x.reshape(ShapeI(0)(x), -1, 1)
    assert y.type.shape == (None, None)
    got = sc.function([x, n], [y, z], backend=backend)(a, shape[0])
    check_exact(got[0], a.reshape(shape[0], -1))
    check_exact(got[1], a.reshape(shape[0], -1, 1))


@SETTINGS
@given(
    base=shapes(min_dims=1, max_dims=3, max_side=3),
    lengths=st.lists(st.integers(0, 3), min_size=1, max_size=3),
    dts=st.lists(st.sampled_from(ALL_DTYPES), min_size=3, max_size=3),
    how=layouts,
    static=st.booleans(),
    data=st.data(),
)
def test_concatenate(backend, base, lengths, dts, how, static, data):
    rng = np.random.default_rng(5)
    axis = data.draw(st.integers(-len(base), len(base) - 1))
    ax = axis % len(base)
    arrays = []
    for k, n in enumerate(lengths):
        shape = base[:ax] + (n,) + base[ax + 1 :]
        arrays.append(relayout(values(dts[k], shape, rng), how))
    xs = [symbolic_input(f"x{k}", a, static) for k, a in enumerate(arrays)]
    y = sc.concatenate(xs, axis=axis)
    want = np.concatenate(arrays, axis=axis)
    assert y.dtype == want.dtype.name
    check_exact(sc.function(xs, y, backend=backend)(*arrays), want)
    static_shape_ok(y, want, exact=static)


@SETTINGS
@given(
    shape=shapes(max_dims=2, max_side=3),
    k=st.integers(1, 3),
    dtype=st.sampled_from(ALL_DTYPES),
    how=layouts,
    static=st.booleans(),
    data=st.data(),
)
def test_stack(backend, shape, k, dtype, how, static, data):
    rng = np.random.default_rng(6)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [relayout(values(dtype, shape, rng), how) for _ in range(k)]
    xs = [symbolic_input(f"x{j}", a, static) for j, a in enumerate(arrays)]
    y = sc.stack(xs, axis=axis)
    want = np.stack(arrays, axis=axis)
    check_exact(sc.function(xs, y, backend=backend)(*arrays), want)
    static_shape_ok(y, want, exact=static)


def test_concatenate_axis_none_and_constants(backend):
    x = sc.matrix("x")
    a = np.arange(6.0).reshape(2, 3)
    y = sc.concatenate([x, np.array([7.0, 8.0])], axis=None)
    check_exact(sc.function([x], y, backend=backend)(a), np.concatenate([a, [7.0, 8.0]], axis=None))
    assert sc.concatenate([x]) is x


@SETTINGS
@given(
    shape=shapes(max_dims=3, max_side=3),
    lead=shapes(max_dims=2, max_side=3),
    dtype=st.sampled_from(ALL_DTYPES),
    how=layouts,
    symbolic=st.booleans(),
    data=st.data(),
)
def test_broadcast_to(backend, shape, lead, dtype, how, symbolic, data):
    a = relayout(values(dtype, shape, np.random.default_rng(7)), how)
    target = lead + tuple(data.draw(st.integers(0, 3)) if d == 1 else d for d in shape)
    x = symbolic_input("x", a, True)
    inputs = [x]
    spec: list = list(target)
    if symbolic and target:
        n = sc.iscalar("n")
        spec[0] = n
        inputs.append(n)
    y = sc.broadcast_to(x, tuple(spec))
    want = np.broadcast_to(a, target)
    args = [a] + ([target[0]] if len(inputs) == 2 else [])
    check_exact(sc.function(inputs, y, backend=backend)(*args), want)
    static_shape_ok(y, want)
    assert y.type.shape[1:] == want.shape[1:]


# --- gradients -------------------------------------------------------------------


@GRAD_SETTINGS
@given(
    base=shapes(min_dims=1, max_dims=2, max_side=3),
    lengths=st.lists(st.integers(0, 3), min_size=2, max_size=3),
    dtype=st.sampled_from(FLOAT_DTYPES),
    data=st.data(),
)
def test_concatenate_grad(backend, base, lengths, dtype, data):
    ax = data.draw(st.integers(0, len(base) - 1))
    pts = [grad_point(base[:ax] + (n,) + base[ax + 1 :], k, dtype) for k, n in enumerate(lengths)]
    sc.verify_grad(lambda *xs: sc.concatenate(xs, axis=ax), pts, backend=backend)


def test_concatenate_grad_unknown_lengths(backend):
    # symbolic offsets: the middle input's length is only known at run time
    a, b, c = sc.vector("a"), sc.vector("b"), sc.tensor("c", (2,))
    w = np.arange(1.0, 8.0)
    cost = sc.sum(sc.concatenate([a, b, c]) * w)
    ga, gb, gc = sc.grad(cost, [a, b, c])
    f = sc.function([a, b, c], [ga, gb, gc], backend=backend, on_unused_input="ignore")
    got = f(np.ones(2), np.ones(3), np.ones(2))
    for g, want in zip(got, [w[:2], w[2:5], w[5:]], strict=True):
        np.testing.assert_allclose(g, want)


def test_concatenate_grad_mixed_dtypes(backend):
    a = sc.vector("a", dtype="float32")
    i = sc.ivector("i")
    y = sc.concatenate([a, i])
    assert y.dtype == "float64"
    g = sc.grad(sc.sum(y * y), a)
    assert g.dtype == "float32"
    got = sc.function([a, i], g, backend=backend)(np.array([1.0, -2.0], "float32"), [3])
    check_exact(got, np.array([2.0, -4.0], "float32"))


@GRAD_SETTINGS
@given(shape=shapes(max_dims=2, max_side=3), k=st.integers(1, 3), data=st.data())
def test_stack_grad(backend, shape, k, data):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    pts = [grad_point(shape, j) for j in range(k)]
    sc.verify_grad(lambda *xs: sc.stack(xs, axis=axis), pts, backend=backend)


@GRAD_SETTINGS
@given(shape=shapes(max_dims=3, max_side=3), data=st.data())
def test_reshape_transpose_expand_squeeze_grad(backend, shape, data):
    pt = grad_point(shape, 8)
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    target = data.draw(st.sampled_from(_reshapes(shape)))
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    sc.verify_grad(lambda x: sc.reshape(x, target) * 1.5, [pt], backend=backend)
    sc.verify_grad(lambda x: sc.transpose(x, perm) ** 2, [pt], backend=backend)
    sc.verify_grad(lambda x: sc.squeeze(sc.expand_dims(x, axis) ** 2), [pt], backend=backend)


def test_squeeze_grad_unknown_length(backend):
    x = sc.tensor("x", (None, 3))
    g = sc.grad(sc.sum(sc.squeeze(x, 0) * np.arange(3.0)), x)
    f = sc.function([x], g, backend=backend, on_unused_input="ignore")
    check_exact(f(np.ones((1, 3))), np.arange(3.0)[None])


@GRAD_SETTINGS
@given(shape=shapes(max_dims=2, max_side=3), lead=shapes(max_dims=2, max_side=2), data=st.data())
def test_broadcast_to_grad(backend, shape, lead, data):
    target = lead + tuple(data.draw(st.integers(0, 3)) if d == 1 else d for d in shape)
    sc.verify_grad(lambda x: sc.broadcast_to(x, target), [grad_point(shape, 9)], backend=backend)


def test_grad_through_T(backend):
    x = sc.matrix("x")
    w = np.arange(6.0).reshape(3, 2)
    g = sc.grad(sc.sum(x.T * w), x)
    f = sc.function([x], g, backend=backend, on_unused_input="ignore")
    check_exact(f(np.ones((2, 3))), w.T)


def test_broadcast_to_grad_symbolic_length(backend):
    v, n = sc.vector("v"), sc.iscalar("n")
    g = sc.grad(sc.sum(sc.broadcast_to(v, (n, 2)) ** 2), v)
    got = sc.function([v, n], g, backend=backend)(np.array([1.0, 2.0]), 3)
    check_exact(got, np.array([6.0, 12.0]))


# --- errors ----------------------------------------------------------------------


def test_concatenate_errors():
    p, q = sc.tensor("p", (2, 3)), sc.tensor("q", (2, 4))
    with pytest.raises(sc.SymcShapeError) as info:
        sc.concatenate([p, q])
    located(info, "concatenate", "(2, 3)", "(2, 4)", "axis 1")
    with pytest.raises(sc.SymcShapeError) as info:
        sc.concatenate([p, sc.vector("v")], axis=0)
    located(info, "concatenate", "(2, 3)", "(?,)", "number of dims")
    with pytest.raises(sc.SymcShapeError) as info:
        sc.concatenate([sc.scalar("s"), sc.scalar("t")])
    located(info, "concatenate", "shape ()", "sc.stack")
    with pytest.raises(sc.SymcValueError) as info:
        sc.concatenate([p, q], axis=2)
    located(info, "concatenate", "axis 2", "(2, 3)")
    with pytest.raises(sc.SymcValueError) as info:
        sc.concatenate([])
    located(info, "concatenate", "at least one")
    with pytest.raises(sc.SymcTypeError) as info:
        sc.concatenate(p)
    located(info, "concatenate", "list or tuple")


def test_concatenate_runtime_error(backend):
    p, q = sc.matrix("p"), sc.matrix("q")
    y = sc.concatenate([p, q], axis=1)
    built = sys._getframe().f_lineno - 1
    f = sc.function([p, q], y, backend=backend)
    with pytest.raises(sc.SymcShapeError) as info:
        f(np.zeros((2, 3)), np.zeros((3, 3)))
    msg = str(info.value)
    for w in ("concatenate", "(2, 3)", "(3, 3)", f"test_shape_ops.py:{built}"):
        assert w in msg, (w, msg)


def test_stack_errors():
    with pytest.raises(sc.SymcShapeError) as info:
        sc.stack([sc.tensor("p", (2, 3)), sc.tensor("q", (3, 3))])
    located(info, "stack", "(2, 3)", "(3, 3)", "same shape")
    with pytest.raises(sc.SymcShapeError) as info:
        sc.stack([sc.vector("p"), sc.matrix("q")])
    located(info, "stack", "(?,)", "(?, ?)")
    with pytest.raises(sc.SymcValueError) as info:
        sc.stack([sc.vector("p")], axis=3)
    located(info, "stack", "axis 3")


def test_broadcast_to_errors():
    x = sc.tensor("x", (2, 3))
    with pytest.raises(sc.SymcShapeError) as info:
        sc.broadcast_to(x, (4, 3, 2))
    located(info, "broadcast_to", "(2, 3)", "(4, 3, 2)")
    with pytest.raises(sc.SymcShapeError) as info:
        sc.broadcast_to(x, (3,))
    located(info, "broadcast_to", "(2, 3)", "(3,)", "more dims")
    with pytest.raises(sc.SymcShapeError) as info:
        sc.broadcast_to(x, (-1, 3))
    located(info, "broadcast_to", "negative")
    with pytest.raises(sc.SymcTypeError) as info:
        sc.broadcast_to(x, (2, 3.0))
    located(info, "broadcast_to", "3.0")


def test_shape_function_errors():
    x = sc.tensor("x", (2, 3))
    with pytest.raises(sc.SymcShapeError) as info:
        sc.reshape(x, (4, 2))
    located(info, "reshape", "(2, 3)", "(4, 2)")
    with pytest.raises(sc.SymcShapeError) as info:
        sc.reshape(x, (4, -1))
    located(info, "reshape", "(2, 3)", "(4, -1)")
    with pytest.raises(sc.SymcValueError) as info:
        sc.reshape(x, (-1, -1))
    located(info, "reshape", "-1")
    with pytest.raises(sc.SymcTypeError) as info:
        sc.reshape(x, (sc.scalar("f"), -1))
    located(info, "reshape", "float64")
    with pytest.raises(sc.SymcValueError) as info:
        sc.transpose(x, (0, 0))
    located(info, "transpose", "(0, 0)", "(2, 3)")
    with pytest.raises(sc.SymcShapeError) as info:
        sc.squeeze(x, 1)
    located(info, "squeeze", "axis 1", "(2, 3)")
    with pytest.raises(sc.SymcValueError) as info:
        sc.expand_dims(x, 5)
    located(info, "expand_dims", "axis 5")


def test_runtime_reshape_and_squeeze_errors(backend):
    x, n = sc.matrix("x"), sc.iscalar("n")
    y = sc.reshape(x, (n, -1))
    z = sc.squeeze(x, 0)
    built = sys._getframe().f_lineno - 2
    f = sc.function([x, n], y, backend=backend)
    with pytest.raises(sc.SymcShapeError) as info:
        f(np.zeros((2, 3)), 4)
    for w in ("reshape", "(2, 3)", "(4, -1)", f"test_shape_ops.py:{built}"):
        assert w in str(info.value), (w, str(info.value))
    g = sc.function([x], z, backend=backend)
    with pytest.raises(sc.SymcShapeError) as info:
        g(np.zeros((2, 3)))
    for w in ("squeeze", "(2, 3)", f"test_shape_ops.py:{built + 1}"):
        assert w in str(info.value), (w, str(info.value))
