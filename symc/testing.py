"""``verify_grad``: check analytic gradients against central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import SymcTypeError, SymcVerifyGradError

_EPS = {"float64": 1e-6, "float32": 3e-3, "float16": 1e-1}
_TOL = {"float64": 1e-5, "float32": 1e-2, "float16": 5e-2}


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

    ``fn`` receives one symbolic input per array of ``pt`` (same dtype and
    static shape) and returns a graph value. A non-scalar output is reduced
    with a random projection, so every entry of the Jacobian is exercised.
    Differences are central, with step ``eps * max(1, |x|)``; an entry fails
    when ``|analytic - numeric| > abs_tol + rel_tol * |numeric|``. The error
    names the worst entry: which input, its index, both values.

    >>> sc.verify_grad(lambda x: sc.sum(sc.tanh(x)), [np.linspace(-1, 1, 5)])
    """
    from .api.creation import tensor
    from .api.reduce import sum as ssum
    from .compile.function import function
    from .grad import grad

    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    pt = [np.array(p, dtype=np.result_type(p, np.float64) if np.asarray(p).dtype.kind in "iub" else None) for p in pt]
    for k, p in enumerate(pt):
        if p.dtype.kind != "f":
            raise SymcTypeError(f"verify_grad: point {k} must be floating, got {p.dtype}.")
    syms = [tensor(f"input{k}", p.shape, p.dtype.name) for k, p in enumerate(pt)]
    out = fn(*syms)
    from .api.convert import as_node

    out = as_node(out)
    dtype = np.result_type(*[p.dtype for p in pt]).name
    if out.type.ndim == 0:
        proj_val = None
        cost = out
        inputs = syms
    else:
        probe = function(syms, out, backend=backend, on_unused_input="ignore")(*pt)
        proj_val = rng.uniform(0.5, 1.5, size=probe.shape) * rng.choice([-1, 1], size=probe.shape)
        proj_val = proj_val.astype(out.type.dtype)
        proj = tensor("projection", probe.shape, out.type.dtype)
        cost = ssum(out * proj)
        inputs = syms + [proj]
    grads = grad(cost, syms, disconnected="zero")
    f_cost = function(inputs, cost, backend=backend, on_unused_input="ignore")
    f_grad = function(inputs, grads, backend=backend, on_unused_input="ignore")
    extra = [] if proj_val is None else [proj_val]
    analytic = f_grad(*pt, *extra)

    eps = eps if eps is not None else _EPS.get(dtype, 1e-6)
    atol = abs_tol if abs_tol is not None else _TOL.get(dtype, 1e-5)
    rtol = rel_tol if rel_tol is not None else _TOL.get(dtype, 1e-5)

    worst = None
    for k, p in enumerate(pt):
        numeric = np.zeros(p.shape, dtype=np.float64)
        for idx in np.ndindex(p.shape):
            h = eps * max(1.0, abs(float(p[idx])))
            args = [q.copy() for q in pt]
            args[k][idx] = p[idx] + h
            up = float(f_cost(*args, *extra))
            args[k][idx] = p[idx] - h
            down = float(f_cost(*args, *extra))
            numeric[idx] = (up - down) / (2 * h)
        a = np.asarray(analytic[k], dtype=np.float64)
        if a.shape != p.shape:
            raise SymcVerifyGradError(
                f"verify_grad: the gradient of input {k} has shape {a.shape}, expected {p.shape}."
            )
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        bad = ~np.isfinite(a) & np.isfinite(numeric)
        err = np.where(bad, np.inf, err)
        err = np.where(np.isnan(a) & np.isnan(numeric), -np.inf, err)
        if err.size and np.max(err) > 0:
            i = np.unravel_index(int(np.argmax(err)), err.shape)
            if worst is None or err[i] > worst[0]:
                worst = (float(err[i]), k, tuple(int(j) for j in i), a[i], numeric[i])
    if worst is not None:
        _, k, idx, a_v, n_v = worst
        raise SymcVerifyGradError(
            f"verify_grad: the gradient w.r.t. input {k} (shape {pt[k].shape}, {pt[k].dtype}) "
            f"disagrees with finite differences at index {idx}: analytic {a_v!r}, numeric "
            f"{n_v!r} (abs error {abs(a_v - n_v):.3g}; tolerance {atol:g} + {rtol:g}*|numeric|)."
        )
