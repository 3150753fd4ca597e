"""``Function.scratch_bytes``: the buffers a call allocates, and constant memory for final states.

A backend without ``scratch_bytes`` yet skips these tests (its
``SymcBackendUnavailableError`` says so); the values are checked on every
backend regardless.
"""

from __future__ import annotations

import numpy as np
import pytest

import symc as sc

#: steps of the long recurrence; the python reference runs ~10-20 us per step, so it
#: runs 10^5 steps (10^6 on compiled backends)
LONG = {"python": 10**5}


def scratch(f, *args) -> dict:
    try:
        return f.scratch_bytes(*args)
    except sc.SymcBackendUnavailableError as err:
        pytest.skip(str(err))


def recurrence(x0: float, n: int) -> float:
    """x_{t+1} = 0.5 x_t + 1, in closed form (NumPy arithmetic)."""
    return float(np.float64(2.0) + (np.float64(x0) - 2.0) * np.float64(0.5) ** n)


def test_final_state_of_a_long_recurrence_uses_constant_memory(backend):
    x0 = sc.scalar("x0")
    n = sc.iscalar("n")
    xs, _ = sc.scan(lambda x: 0.5 * x + 1, outputs_info=x0, n_steps=n)
    f = sc.function([x0, n], xs[-1], backend=backend)
    long = LONG.get(backend, 10**6)
    small = scratch(f, 3.0, 10**3)
    big = scratch(f, 3.0, long)
    assert sum(big.values()) < 1024, big
    assert sum(big.values()) <= sum(small.values()), (small, big)
    got = f(3.0, long)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, recurrence(3.0, long), rtol=1e-15)
    # the same loop read whole keeps every step: the measure sees it
    g = sc.function([x0, n], sc.sum(xs), backend=backend)
    assert sum(scratch(g, 3.0, 10**3).values()) >= 10**3 * 8


def test_stacked_output_is_counted_when_it_is_an_intermediate(backend):
    x = sc.vector("x")
    ys, _ = sc.scan(lambda t, h: h + t, sequences=x, outputs_info=sc.constant(0.0))
    f = sc.function([x], sc.sum(ys * ys), backend=backend)
    v = np.arange(1000.0)
    sizes = scratch(f, v)
    assert sum(sizes.values()) >= v.nbytes  # the 1000 stacked rows are kept
    np.testing.assert_allclose(f(v), np.sum(np.cumsum(v) ** 2))


def test_scratch_excludes_inputs_and_outputs(backend):
    x = sc.vector("x")
    f = sc.function([x], [x * 2, sc.exp(x) + sc.sin(x * 3)], backend=backend)
    v = np.linspace(0, 1, 10_000)
    sizes = scratch(f, v)
    # whatever the intermediates, they never include the 80 kB input or either output twice
    assert all(b <= v.nbytes for b in sizes.values()), sizes
    assert sum(sizes.values()) < 3 * v.nbytes


def test_scratch_bytes_checks_its_arguments(backend):
    x = sc.vector("x")
    f = sc.function([x], x + 1, backend=backend)
    with pytest.raises(sc.SymcInputError):
        scratch(f)
    with pytest.raises(sc.SymcShapeError):
        scratch(f, np.ones((2, 2)))
