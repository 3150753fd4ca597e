"""Indexing against NumPy: basic indexing (ints, slices, None, Ellipsis, symbolic
parts), integer-array indexing and ``take``; their gradients; their errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symc as sc
from symc.ops.alloc import ShapeI
from symc.ops.index import AdvancedIncSubtensor, IncSubtensor

from .arrays import ALL_DTYPES, FLOAT_DTYPES, layouts, one_array, relayout, shapes, values
from .checks import check_exact, grad_point, located, static_shape_ok, symbolic_input

# ``backend`` is a read-only string, so sharing it across examples is safe
_FIXTURE_OK = [HealthCheck.function_scoped_fixture]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=_FIXTURE_OK)
GRAD_SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=_FIXTURE_OK)
STEPS = [None, 1, 2, 3, -1, -2, -3]


@st.composite
def basic_indices(draw, shape):
    """A NumPy basic index for ``shape``: ints, slices, None, maybe an Ellipsis."""
    items: list = []
    for n in shape:
        kinds = ["int", "slice", "slice", "full"] if n else ["slice", "full"]
        kind = draw(st.sampled_from(kinds))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "full":
            items.append(slice(None))
        else:
            bound = st.none() | st.integers(-n - 2, n + 2)
            items.append(slice(draw(bound), draw(bound), draw(st.sampled_from(STEPS))))
    form = draw(st.sampled_from(["all", "prefix", "ellipsis"]))
    if form == "prefix":
        items = items[: draw(st.integers(0, len(items)))]
    elif form == "ellipsis":
        lo = draw(st.integers(0, len(items)))
        hi = draw(st.integers(lo, len(items)))
        items = items[:lo] + [Ellipsis] + items[hi:]
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    if len(items) == 1 and draw(st.booleans()):
        return items[0]
    return tuple(items)


def _symbolize(index, choose):
    """``index`` with some ints and slice bounds replaced by int64 scalar inputs."""
    syms, vals = [], []

    def sym(v):
        if v is None or not choose():
            return v
        s = sc.iscalar(f"i{len(syms)}")
        syms.append(s)
        vals.append(v)
        return s

    def one(item):
        if isinstance(item, slice):
            return slice(sym(item.start), sym(item.stop), sym(item.step))
        if isinstance(item, int):
            return sym(item)
        return item

    out = tuple(one(i) for i in index) if isinstance(index, tuple) else one(index)
    return out, syms, vals


# --- basic indexing --------------------------------------------------------------


@SETTINGS
@given(**one_array())
def test_basic_indexing(backend, shape, dtype, how, static, data):
    a = relayout(values(dtype, shape, np.random.default_rng(0)), how)
    index = data.draw(basic_indices(shape))
    x = symbolic_input("x", a, static)
    y = x[index]
    want = a[index]
    check_exact(sc.function([x], y, backend=backend, on_unused_input="ignore")(a), want)
    static_shape_ok(y, want, exact=static)


@SETTINGS
@given(shape=shapes(min_dims=1, max_dims=3), how=layouts, static=st.booleans(), data=st.data())
def test_symbolic_indices_and_bounds(backend, shape, how, static, data):
    a = relayout(values("float32", shape, np.random.default_rng(1)), how)
    index = data.draw(basic_indices(shape))
    sym_index, syms, vals = _symbolize(index, lambda: data.draw(st.booleans()))
    x = symbolic_input("x", a, static)
    y = x[sym_index]
    got = sc.function([x, *syms], y, backend=backend, on_unused_input="ignore")(a, *vals)
    want = a[index]
    check_exact(got, want)
    static_shape_ok(y, want, exact=static and not syms)


def test_simple_forms(backend):
    v, i, j = sc.vector("v"), sc.iscalar("i"), sc.iscalar("j")
    a = np.arange(6.0)
    outs = [v[1:], v[::-1], v[i], v[i:j], v[-i], v[j:i:-1], v[np.newaxis, ...], v[...], v[()]]
    got = sc.function([v, i, j], outs, backend=backend)(a, 1, 4)
    wants = [a[1:], a[::-1], a[1], a[1:4], a[-1], a[4:1:-1], a[None], a, a]
    for g, w in zip(got, wants, strict=True):
        check_exact(g, w)
    assert v[...] is v and v[:] is v
    assert v[1:] is v[1:]  # interned: one node per expression
    s = sc.scalar("s")
    got = sc.function([s], [s[None], s[...], s[None, None, ...]], backend=backend)(2.5)
    check_exact(got[0], np.array([2.5]))
    check_exact(got[1], np.array(2.5))
    check_exact(got[2], np.array([[2.5]]))


def test_static_shapes():
    T = sc.tensor("T", (5, None, 3))
    i = sc.iscalar("i")
    assert T[1:4:2].shape == (2, None, 3)
    assert T[::-1, 0].shape == (5, 3)
    assert T[-10:10].shape == (5, None, 3)
    assert T[..., None, 1].shape == (5, None, 1)
    assert T[i].shape == (None, 3)
    assert T[i:].shape == (None, None, 3)
    assert T[:, :, i].shape == (5, None)
    assert T[:, 7].shape == (5, 3)  # unknown length: checked when run


# --- integer-array indexing and take --------------------------------------------


@st.composite
def take_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    ishape = draw(shapes(max_dims=2, max_side=3)) if n else draw(shapes(max_dims=2, max_side=0))
    if not n and not ishape:
        ishape = (0,)
    idx = np.random.default_rng(draw(st.integers(0, 99))).integers(-n, max(n, 1), size=ishape)
    return shape, axis, idx.astype("int64")


@SETTINGS
@given(
    case=take_case(),
    dtype=st.sampled_from(ALL_DTYPES),
    how=layouts,
    static=st.booleans(),
    source=st.sampled_from(["node", "array", "list"]),
)
def test_take(backend, case, dtype, how, static, source):
    shape, axis, idx = case
    a = relayout(values(dtype, shape, np.random.default_rng(2)), how)
    x = symbolic_input("x", a, static)
    inputs, args = [x], [a]
    if source == "node":
        ind = sc.tensor("idx", (None,) * idx.ndim, "int64")
        inputs.append(ind)
        args.append(idx)
    elif source == "list":
        ind = idx.tolist()
        idx = np.array(ind, dtype="int64")  # an empty nested list loses its shape
    else:
        ind = idx
    y = sc.take(x, ind, axis=axis)
    want = np.take(a, idx, axis=axis)
    check_exact(sc.function(inputs, y, backend=backend)(*args), want)
    static_shape_ok(y, want, exact=static and source != "node")
    if idx.ndim == 1 and axis in (0, -len(shape)):
        z = x[ind]
        check_exact(sc.function(inputs, z, backend=backend)(*args), a[idx])


def test_take_flat(backend):
    M = sc.matrix("M")
    a = np.arange(12.0).reshape(3, 4)
    got = sc.function([M], sc.take(M, [[11, -1], [0, 5]]), backend=backend)(a)
    check_exact(got, np.take(a, [[11, -1], [0, 5]]))


MIXED = [
    lambda x, i: x[i, 1:],
    lambda x, i: x[1:, i],
    lambda x, i: x[i, ::-1, None],
    lambda x, i: x[i, 1],
    lambda x, i: x[1, :, i],
    lambda x, i: x[:, i, ..., 0],
    lambda x, i: x[None, 0, i],
    lambda x, i: x[..., i],
    lambda x, i: x[-1, i, 1:],
    lambda x, i: x[:, 0, ..., i],
    lambda x, i: x[i, ..., 2],
]


@pytest.mark.parametrize("k", range(len(MIXED)))
def test_mixed_indexing(backend, k):
    a = np.arange(60.0).reshape(3, 4, 5)
    idx = np.array([[2, 0], [-1, 2]])
    x, i = sc.tensor("x", (None, 4, 5)), sc.tensor("i", (None, None), "int64")
    y = MIXED[k](x, i)
    want = MIXED[k](a, idx)
    check_exact(sc.function([x, i], y, backend=backend)(a, idx), want)
    static_shape_ok(y, want, exact=False)
    check_exact(sc.function([x], MIXED[k](x, idx), backend=backend)(a), want)
    check_exact(sc.function([x], MIXED[k](x, idx.tolist()), backend=backend)(a), want)


def test_inc_ops_add_into_their_input(backend):
    # the adjoint ops add (not assign), and a take-adjoint accumulates repeats
    x, y, z = sc.matrix("x"), sc.vector("y"), sc.matrix("z")
    items = (("slice", None, None, -2), ("int", 1))
    a, b = np.arange(12.0).reshape(4, 3), np.array([10.0, 20.0])
    idx = np.array([0, 2, 2, -1])
    c = np.ones((4, 4))
    outs = [IncSubtensor(items)(x, y), AdvancedIncSubtensor(1)(x, z, idx)]
    got = sc.function([x, y, z], outs, backend=backend)(a, b, c)
    want0 = a.copy()
    want0[::-2, 1] += b
    want1 = a.copy()
    np.add.at(want1, (slice(None), idx), c)
    check_exact(got[0], want0)
    check_exact(got[1], want1)
    sc.verify_grad(lambda x, y: IncSubtensor(items)(x, y) ** 2, [a, b], backend=backend)
    sc.verify_grad(lambda x, z: AdvancedIncSubtensor(1)(x, z, idx) ** 2, [a, c], backend=backend)


# --- gradients -------------------------------------------------------------------


@GRAD_SETTINGS
@given(shape=shapes(max_dims=3, max_side=3), dtype=st.sampled_from(FLOAT_DTYPES), data=st.data())
def test_basic_indexing_grad(backend, shape, dtype, data):
    index = data.draw(basic_indices(shape))
    sc.verify_grad(lambda x: x[index] * 2.0, [grad_point(shape, 3, dtype)], backend=backend)


def test_slice_grads(backend):
    pt = grad_point((5, 4), 4)
    for index in [
        (slice(None, None, -1),),
        (slice(4, 0, -2), slice(1, None, 2)),
        (2, slice(None, None, -3)),
        (-1, -2),
        (None, Ellipsis, slice(-2, None)),
    ]:
        sc.verify_grad(lambda x, index=index: x[index] ** 2, [pt], backend=backend)


def test_symbolic_index_grad(backend):
    # ShapeI gives integer scalars that are symbolic even though the point is fixed
    def fn(x):
        n = ShapeI(0)(x)
        return x[n - 2] * 3.0 + x[n - 4 : n - 1 : 2, ::-1] ** 2

    sc.verify_grad(fn, [grad_point((5, 3), 5)], backend=backend)


def test_symbolic_index_grad_values(backend):
    v, i, j = sc.vector("v"), sc.iscalar("i"), sc.iscalar("j")
    a = np.arange(1.0, 7.0)
    g = sc.grad(sc.sum(v[i:j] ** 2) + v[i] * 10, v)
    got = sc.function([v, i, j], g, backend=backend)(a, 1, 4)
    want = np.zeros(6)
    want[1:4] = 2 * a[1:4]
    want[1] += 10
    np.testing.assert_allclose(got, want)


@GRAD_SETTINGS
@given(case=take_case(), dtype=st.sampled_from(FLOAT_DTYPES))
def test_take_grad(backend, case, dtype):
    shape, axis, idx = case
    sc.verify_grad(
        lambda x: sc.take(x, idx, axis=axis) ** 2, [grad_point(shape, 6, dtype)], backend=backend
    )


def test_take_repeated_indices_grad(backend):
    v, idx = sc.vector("v"), sc.ivector("idx")
    a, ind = np.arange(1.0, 6.0), np.array([0, 2, 2, -1, 2, 4])
    w = np.arange(6.0)
    g = sc.grad(sc.sum(v[idx] * w), v)
    want = np.zeros(5)
    np.add.at(want, ind, w)
    got = sc.function([v, idx], g, backend=backend, on_unused_input="ignore")(a, ind)
    np.testing.assert_allclose(got, want)
    sc.verify_grad(lambda x: sc.take(x, ind) ** 3, [a], backend=backend)
    sc.verify_grad(lambda x: x[[1, 1, 0], 1:] ** 2, [grad_point((3, 3), 7)], backend=backend)


def test_grad_through_views(backend):
    x = sc.matrix("x")
    a = np.arange(6.0).reshape(2, 3)
    w = np.arange(10.0, 16.0).reshape(3, 2)
    g1 = sc.grad(sc.sum(x.T * w), x)
    g2 = sc.grad(sc.sum(x[::-1] * a), x)
    g3 = sc.grad(sc.sum(x[:, ::-2] ** 2), x)
    got = sc.function([x], [g1, g2, g3], backend=backend)(a)
    np.testing.assert_allclose(got[0], w.T)
    np.testing.assert_allclose(got[1], a[::-1])
    want = np.zeros((2, 3))
    want[:, ::-2] = 2 * a[:, ::-2]
    np.testing.assert_allclose(got[2], want)


def test_second_order_through_indexing(backend):
    v = sc.vector("v", length=3)
    H = sc.hessian(v[0] * v[2] ** 2 + sc.sum(sc.take(v, [1, 1]) ** 3), v)
    a = np.array([1.0, 2.0, 3.0])
    want = np.array([[0, 0, 2 * a[2]], [0, 12 * a[1], 0], [2 * a[2], 0, 2 * a[0]]])
    np.testing.assert_allclose(sc.function([v], H, backend=backend)(a), want)


# --- errors ----------------------------------------------------------------------


def test_build_time_errors():
    M = sc.tensor("M", (3, 4))
    with pytest.raises(sc.SymcIndexError) as info:
        M[1, 4]
    located(info, "index 4", "axis 1", "(3, 4)")
    with pytest.raises(sc.SymcIndexError) as info:
        M[-4]
    located(info, "index -4", "axis 0", "(3, 4)")
    with pytest.raises(sc.SymcIndexError) as info:
        M[0, 0, 0]
    located(info, "too many indices", "(3, 4)")
    with pytest.raises(sc.SymcIndexError) as info:
        M[..., 0, ...]
    located(info, "Ellipsis", "(3, 4)")
    with pytest.raises(sc.SymcTypeError) as info:
        M[1.0]
    located(info, "integers", "1.0", "(3, 4)")
    with pytest.raises(sc.SymcTypeError) as info:
        M[sc.scalar("f")]
    located(info, "integers", "float64")
    with pytest.raises(sc.SymcTypeError) as info:
        M[:1.5]
    located(info, "slice stop", "1.5")
    with pytest.raises(sc.SymcTypeError) as info:
        M[:, "a"]
    located(info, "'a'", "supported")
    with pytest.raises(sc.SymcValueError) as info:
        M[::0]
    located(info, "step", "zero", "(3, 4)")


def test_unsupported_forms_say_what_is_supported():
    M = sc.tensor("M", (3, 4))
    with pytest.raises(sc.SymcIndexError) as info:
        M[M > 0]
    located(info, "boolean", "supported")
    with pytest.raises(sc.SymcIndexError) as info:
        M[np.array([True, False, True])]
    located(info, "boolean", "supported")
    with pytest.raises(sc.SymcIndexError) as info:
        M[True]
    located(info, "boolean")
    with pytest.raises(sc.SymcIndexError) as info:
        M[[0, 1], [1, 2]]
    located(info, "only one integer-array index", "sc.take")
    with pytest.raises(sc.SymcTypeError) as info:
        M[np.array([0.5])]
    located(info, "integers", "float64")


def test_take_errors():
    M = sc.tensor("M", (3, 4))
    with pytest.raises(sc.SymcIndexError) as info:
        sc.take(M, [0, 5], axis=1)
    located(info, "take", "index 5", "axis 1", "(3, 4)")
    with pytest.raises(sc.SymcIndexError) as info:
        M[[0, -4]]
    located(info, "take", "index -4", "axis 0", "(3, 4)")
    with pytest.raises(sc.SymcValueError) as info:
        sc.take(M, [0], axis=2)
    located(info, "take", "axis 2", "(3, 4)")
    with pytest.raises(sc.SymcTypeError) as info:
        sc.take(M, sc.vector("f"), axis=0)
    located(info, "take", "float64")
    with pytest.raises(sc.SymcIndexError) as info:
        sc.take(M, [True, False], axis=0)
    located(info, "take", "boolean")


def test_run_time_errors(backend):
    v, i, idx = sc.vector("v"), sc.iscalar("i"), sc.ivector("idx")
    y, z, w = v[i], sc.take(v, idx), v[i:][i]
    built = sys._getframe().f_lineno - 1
    f = sc.function([v, i], y, backend=backend)
    with pytest.raises(sc.SymcIndexError) as info:
        f(np.zeros(3), 3)
    for word in ("index 3", "axis 0", "(3,)", f"test_indexing.py:{built}"):
        assert word in str(info.value), (word, str(info.value))
    with pytest.raises(sc.SymcIndexError):
        f(np.zeros(3), -4)
    np.testing.assert_array_equal(f(np.arange(3.0), -3), 0.0)
    g = sc.function([v, idx], z, backend=backend)
    with pytest.raises(sc.SymcIndexError) as info:
        g(np.zeros(3), np.array([0, 7, 1]))
    for word in ("take", "index 7", "axis 0", "(3,)", f"test_indexing.py:{built}"):
        assert word in str(info.value), (word, str(info.value))
    h = sc.function([v, i], w, backend=backend)
    with pytest.raises(sc.SymcIndexError):
        h(np.zeros(3), 2)  # v[2:] has length 1, so [2] is out of range
    with pytest.raises(sc.SymcValueError) as info:
        sc.function([v, i], v[::i], backend=backend)(np.zeros(3), 0)
    assert "step" in str(info.value)
