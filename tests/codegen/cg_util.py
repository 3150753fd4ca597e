"""Helpers for the codegen tests (imported as a plain module)."""

from __future__ import annotations

import numpy as np

from codegen.ir import (
    Buffer,
    Elementwise,
    Program,
    Shape,
    Store,
    bcast,
    broadcast_view,
    contiguous_view,
)


def elementwise_program(in_specs, out_exprs, out_dtypes=None):
    """A program broadcasting inputs ``[(dtype, ndim)]`` and storing each expression."""
    ins = tuple(Buffer(f"x{i}", dt, nd) for i, (dt, nd) in enumerate(in_specs))
    ndim = max([nd for _, nd in in_specs] + [0])
    dims = []
    for axis in range(ndim):
        ext = [Shape(b, axis - (ndim - b.ndim)) for b in ins if axis >= ndim - b.ndim]
        dims.append(bcast(*ext) if ext else 1)
    shape = tuple(dims)
    outs = tuple(
        Buffer(f"y{j}", (out_dtypes or {}).get(j, e.dtype), ndim, "output", shape)
        for j, e in enumerate(out_exprs)
    )
    views = tuple(broadcast_view(b, ndim) for b in ins)
    stores = tuple(Store(contiguous_view(o), e) for o, e in zip(outs, out_exprs, strict=False))
    return Program(ins, outs, (), (Elementwise(shape, views, stores),))


def assert_ulp(out, ref, ulps, what=""):
    """``out`` within ``ulps`` units in the last place of ``ref``; NaN, inf and zero signs exact."""
    out, ref = np.asarray(out), np.asarray(ref).astype(out.dtype)
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(out), nan), f"{what}: NaN mismatch"
    fin = np.isfinite(ref)
    assert np.array_equal(out[~fin & ~nan], ref[~fin & ~nan]), f"{what}: inf mismatch"
    zero = ref == 0
    assert np.array_equal(np.signbit(out[zero]), np.signbit(ref[zero])), f"{what}: sign of zero"
    tol = ulps * np.spacing(np.abs(ref[fin]))
    err = np.abs(out[fin].astype(np.float64) - ref[fin])
    bad = err > tol
    assert not bad.any(), f"{what}: {err[bad][:5]} > {tol[bad][:5]} at {np.flatnonzero(bad)[:5]}"
