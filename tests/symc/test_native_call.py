"""The C backend's call path: plain functions call straight into the shim, failures reach Python."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import symc as sc
from symc.errors import SymcInputError, SymcShapeError


def _add():
    x, y = sc.vector("x"), sc.vector("y")
    return sc.function([x, y], x + y, backend="c")


def test_plain_function_is_the_kernel_type():
    f = _add()
    kernel_type = type(f._kernel)
    if not hasattr(kernel_type, "rebind"):
        pytest.skip("the call shim could not be built here (cffi fallback)")
    assert isinstance(f, kernel_type)
    np.testing.assert_array_equal(f(np.arange(3.0), np.ones(3)), [1.0, 2.0, 3.0])


def test_function_with_shared_state_keeps_the_python_path():
    w = sc.shared(np.ones(2), name="w")
    x = sc.vector("x")
    f = sc.function([x], x * w, updates=[(w, w + 1)], backend="c")
    assert not isinstance(f, type(f._kernel))
    np.testing.assert_array_equal(f(np.full(2, 3.0)), [3.0, 3.0])
    np.testing.assert_array_equal(w.get_value(), [2.0, 2.0])


def test_direct_call_failures_raise_the_reference_errors():
    f = _add()
    with pytest.raises(SymcShapeError, match="could not be broadcast"):
        f(np.ones(2), np.ones(3))
    with pytest.raises(SymcInputError, match="expected 2 arguments"):
        f(np.ones(2))
    with pytest.raises(TypeError, match="positional"):
        f(np.ones(2), y=np.ones(2))


def test_direct_call_converts_what_the_reference_converts():
    f = _add()
    out = f(np.ones(2, dtype=np.float32), [1, 2])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [2.0, 3.0])


def test_a_dropped_function_is_freed():
    # the kernel keeps references in C fields the garbage collector cannot see:
    # none of them may point back at the function
    f = _add()
    f(np.ones(1), np.ones(1))
    ref = weakref.ref(f)
    del f
    gc.collect()
    assert ref() is None


def test_large_outputs_reuse_freed_memory_and_stay_ordinary_arrays():
    shim = _shim_module()
    x = sc.vector("x")
    f = sc.function([x], sc.exp(x) + 1, backend="c")
    a = np.linspace(-1.0, 1.0, 300_000)  # 2.4 MB: above the pool's threshold
    shim.pool_clear()
    first = f(a)
    assert first.flags.owndata and first.flags.writeable and first.base is None
    np.testing.assert_allclose(first, np.exp(a) + 1)
    del first
    held = shim.pool_bytes()
    assert held >= a.nbytes
    second = f(-a)  # takes the freed block back
    assert shim.pool_bytes() == 0  # its one block is in use again
    np.testing.assert_allclose(second, np.exp(-a) + 1)
    second.resize(10, refcheck=False)  # the allocator's realloc path
    np.testing.assert_allclose(second, np.exp(-a[:10]) + 1)
    small = f(a[:10])  # small outputs use NumPy's own allocator
    np.testing.assert_allclose(small, np.exp(a[:10]) + 1)
    del second
    assert shim.pool_clear() >= a.nbytes
    assert shim.pool_bytes() == 0


def _shim_module():
    from codegen.shim import get_shim
    from symc.config import config

    shim = get_shim(config.cache_dir)  # the module compiled functions call through
    if shim is None or not hasattr(shim, "pool_clear"):
        pytest.skip("the call shim could not be built here (cffi fallback)")
    return shim
