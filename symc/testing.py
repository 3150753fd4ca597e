"""``verify_grad``: check analytic gradients against central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import SymcTypeError, SymcVerifyGradError
from .graph.location import user_location, with_location

_EPS = {"float64": 1e-6, "float32": 3e-3, "float16": 1e-1}
_TOL = {"float64": 1e-5, "float32": 1e-2, "float16": 5e-2}


def _as_point(k: int, p: Any) -> np.ndarray:
    arr = np.array(p)
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise with_location(
            SymcTypeError(f"verify_grad: point {k} must be floating, got dtype {arr.dtype}."),
            user_location(),
            verb="called at",
        )
    return arr


def verify_grad(
    fn: Callable[..., Any],
    pt: Sequence[Any],
    rng: np.random.Generator | int | None = None,
    eps: float | None = None,
    abs_tol: float | None = None,
    rel_tol: float | None = None,
    backend: str = "python",
) -> None:
    """Raise ``SymcVerifyGradError`` if ``grad`` of ``fn`` disagrees with finite differences.

    Args:
        fn: receives one symbolic input per array of ``pt`` (same dtype and
            static shape) and returns a graph value. A non-scalar output is
            reduced with a random projection, so every Jacobian entry counts.
        pt: the point: one array (or array-like; integers become float64) per input.
        rng: seed or generator for the projection (default: a fixed seed).
        eps: finite-difference step, scaled by ``max(1, |x|)``; default by dtype.
        abs_tol, rel_tol: an entry fails when
            ``|analytic - numeric| > abs_tol + rel_tol * |numeric|``; default by dtype.
        backend: the backend that compiles the cost and gradient.

    The error names the worst entry: which input, its index, both values.

    >>> sc.verify_grad(lambda x: sc.sum(sc.tanh(x)), [np.linspace(-1, 1, 5)])
    """
    from .api.convert import as_node
    from .api.creation import tensor
    from .api.reduce import sum as ssum
    from .autodiff import grad
    from .compile.function import function

    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng or 0)
    pt = [_as_point(k, p) for k, p in enumerate(pt)]
    syms = [tensor(f"input{k}", p.shape, p.dtype.name) for k, p in enumerate(pt)]
    out = as_node(fn(*syms))
    dtype = np.result_type(*[p.dtype for p in pt]).name
    extra: list[np.ndarray] = []
    cost, inputs = out, syms
    if out.type.ndim != 0:
        probe = function(syms, out, backend=backend, on_unused_input="ignore")(*pt)
        proj_val = rng.uniform(0.5, 1.5, size=probe.shape) * rng.choice([-1, 1], size=probe.shape)
        proj = tensor("projection", probe.shape, out.type.dtype)
        cost = ssum(out * proj)
        inputs = syms + [proj]
        extra = [proj_val.astype(out.type.dtype)]
    grads = grad(cost, syms, disconnected="zero")
    f_cost = function(inputs, cost, backend=backend, on_unused_input="ignore")
    f_grad = function(inputs, grads, backend=backend, on_unused_input="ignore")
    analytic = f_grad(*pt, *extra)

    eps = eps if eps is not None else _EPS.get(dtype, 1e-6)
    atol = abs_tol if abs_tol is not None else _TOL.get(dtype, 1e-5)
    rtol = rel_tol if rel_tol is not None else _TOL.get(dtype, 1e-5)

    worst = None
    for k, p in enumerate(pt):
        numeric = _numeric_grad(f_cost, pt, extra, k, eps)
        a = np.asarray(analytic[k], dtype=np.float64)
        if a.shape != p.shape:
            raise SymcVerifyGradError(
                f"verify_grad: the gradient of input {k} has shape {a.shape}, expected {p.shape}."
            )
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        # a non-finite analytic value where the numeric one is finite always fails;
        # NaN on both sides (a point outside the domain) is agreement
        err = np.where(~np.isfinite(a) & np.isfinite(numeric), np.inf, err)
        err = np.where(np.isnan(a) & np.isnan(numeric), -np.inf, err)
        if err.size and np.max(err) > 0:
            i = np.unravel_index(int(np.argmax(err)), err.shape)
            if worst is None or err[i] > worst[0]:
                worst = (float(err[i]), k, tuple(int(j) for j in i), a[i], numeric[i])
    if worst is not None:
        _, k, idx, a_v, n_v = worst
        raise with_location(
            SymcVerifyGradError(
                f"verify_grad: the gradient w.r.t. input {k} (shape {pt[k].shape}, "
                f"{pt[k].dtype}) disagrees with finite differences at index {idx}: analytic "
                f"{a_v!r}, numeric {n_v!r} (abs error {abs(a_v - n_v):.3g}; tolerance "
                f"{atol:g} + {rtol:g}*|numeric|)."
            ),
            user_location(),
            verb="called at",
        )


def _numeric_grad(f_cost, pt: list[np.ndarray], extra: list, k: int, eps: float) -> np.ndarray:
    """Central differences of ``f_cost`` w.r.t. every entry of input ``k``."""
    p = pt[k]
    numeric = np.zeros(p.shape, dtype=np.float64)
    args = list(pt)
    moved = p.copy()
    args[k] = moved
    for idx in np.ndindex(p.shape):
        x0 = p[idx]
        h = eps * max(1.0, abs(float(x0)))
        moved[idx] = x0 + h
        up = float(f_cost(*args, *extra))
        moved[idx] = x0 - h
        down = float(f_cost(*args, *extra))
        moved[idx] = x0
        # the step actually taken, after rounding to the input dtype
        step = float(np.asarray(x0 + h, p.dtype)) - float(np.asarray(x0 - h, p.dtype))
        numeric[idx] = (up - down) / step
    return numeric
