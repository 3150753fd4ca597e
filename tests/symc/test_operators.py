"""The Python operators on graph values map to NumPy's meaning of each operator."""

import numpy as np
import pytest

import symc as sc


@pytest.mark.parametrize(
    "build, ref",
    [
        (lambda a, b: a & b, lambda a, b: a & b),
        (lambda a, b: a | b, lambda a, b: a | b),
        (lambda a, b: a ^ b, lambda a, b: a ^ b),
        (lambda a, b: ~a, lambda a, b: ~a),
        (lambda a, b: 6 & a, lambda a, b: 6 & a),
        (lambda a, b: 5 | b, lambda a, b: 5 | b),
        (lambda a, b: 3 ^ a, lambda a, b: 3 ^ a),
    ],
)
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_bitwise_operators_match_numpy(build, ref, dtype, backend):
    a, b = sc.vector("a", dtype=dtype), sc.vector("b", dtype=dtype)
    rng = np.random.default_rng(0)
    if dtype == "bool":
        av, bv = rng.random(7) < 0.5, rng.random(7) < 0.5
    else:
        av, bv = rng.integers(-9, 9, 7), rng.integers(-9, 9, 7)
    f = sc.function([a, b], build(a, b), backend=backend, on_unused_input="ignore")
    expected = ref(av, bv)
    got = f(av, bv)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_bitwise_on_floats_is_a_type_error():
    x = sc.vector("x")
    with pytest.raises(sc.SymcTypeError, match="bitwise_and"):
        x & x
