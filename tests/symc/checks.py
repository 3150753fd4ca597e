"""Assertions shared by the op tests: exact results, static shapes, located errors.

``located`` checks that an error names the line of the *calling* test file
that raised it, so each test file keeps asserting on its own lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import symc as sc


def symbolic_input(name, arr, static):
    """A symbolic input for ``arr``: with its static shape, or with every length unknown."""
    shape = arr.shape if static else (None,) * arr.ndim
    return sc.tensor(name, shape, arr.dtype.name)


def check_exact(got, want):
    """``got`` has ``want``'s dtype, shape and values, exactly."""
    got = np.asarray(got)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)


def static_shape_ok(node, want, exact=False):
    """``node``'s static shape agrees with ``want``'s where it is known (all of it if ``exact``)."""
    assert node.type.ndim == want.ndim, (node.type.shape, want.shape)
    if exact:
        assert node.type.shape == want.shape, (node.type.shape, want.shape)
    for d, w in zip(node.type.shape, want.shape, strict=True):
        assert d is None or d == w, (node.type.shape, want.shape)


def located(info, *words):
    """The message names ``words`` and the line of the caller's file that raised."""
    msg = str(info.value)
    here = Path(sys._getframe(1).f_code.co_filename).resolve()
    entry = next(e for e in info.traceback if Path(str(e.path)).resolve() == here)
    assert f"{here.name}:{entry.lineno + 1}" in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def grad_point(shape, seed, dtype="float64"):
    """A reproducible point in [-2, 2) for ``verify_grad``."""
    return np.random.default_rng(seed).uniform(-2, 2, size=shape).astype(dtype)
