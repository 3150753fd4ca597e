"""Cold and warm compile time of a logistic-regression loss and its gradient.

Workload (fixed): X 1000x100 float64, y 1000, w 100, b scalar;
``p = sigmoid(X @ w + b)``, ``loss = -mean(y*log(p) + (1-y)*log(1-p))`` (the
naive cross-entropy, left for the optimizer to stabilize), outputs
``loss, dloss/dw, dloss/db``.

Each sample is a fresh process, one thread, pinned to CPU 0, timed from graph
building to the first result (imports excluded). Cold: an empty cache
directory (symc ``SYMC_CACHE_DIR``, PyTensor ``compiledir``, numba's cache,
JAX's persistent compilation cache). Warm: the same, with the cache primed by
an earlier process. Targets (issue 4): symc cold < 0.5 s and <= 1/10 of
PyTensor C; warm < 30 ms.

Run ``python -m benchmarks.compile_logreg`` (``--quick``: fewer samples).
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import _harness as h  # noqa: E402

N, D = 1000, 100
NAME = "compile_logreg"


def data():
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = (rng.random(N) < 0.5).astype(np.float64)
    w = rng.standard_normal(D) * 0.1
    return X, y, w, np.float64(0.1)


def _loss(lib, sigmoid, X, y, w, b):
    p = sigmoid(lib.dot(X, w) + b)
    return -lib.mean(y * lib.log(p) + (1 - y) * lib.log(1 - p))


def symc_graph():
    import symc as sc

    X, y, w, b = sc.matrix("X"), sc.vector("y"), sc.vector("w"), sc.scalar("b")
    loss = _loss(sc, sc.sigmoid, X, y, w, b)
    return [X, y, w, b], [loss, *sc.grad(loss, [w, b])]


# --- children: each runs in a fresh process and reports {"seconds": ...} -------------


def child_symc() -> None:
    h.report(**h.symc_first_result(symc_graph, data))


def child_symc_breakdown() -> None:
    h.report(**h.symc_breakdown(symc_graph, data))


def child_pytensor() -> None:
    t_imp = h.clock()
    import pytensor
    import pytensor.tensor as pt

    args = data()
    t0 = h.clock()
    X, y, w, b = pt.matrix("X"), pt.vector("y"), pt.vector("w"), pt.scalar("b")
    loss = _loss(pt, pt.sigmoid, X, y, w, b)
    f = pytensor.function([X, y, w, b], [loss, *pytensor.grad(loss, [w, b])])
    f(*args)
    h.report(seconds=h.clock() - t0, import_s=t0 - t_imp)


def child_jax() -> None:
    t_imp = h.clock()
    jax = h.jax_setup()
    import jax.numpy as jnp

    args = data()
    t0 = h.clock()

    def loss(w, b, X, y):
        return _loss(jnp, jax.nn.sigmoid, X, y, w, b)

    f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    X, y, w, b = args
    jax.block_until_ready(f(w, b, X, y))
    h.report(seconds=h.clock() - t0, import_s=t0 - t_imp)


def main() -> None:
    h.precompile()
    quick = "--quick" in sys.argv
    symc, peers = ((2, 2), (1, 1)) if quick else ((5, 7), (3, 3))
    rows = h.measure_compile(NAME, h.compile_systems(symc, peers, jax=peers))
    title = f"logistic regression loss + grad, X {N}x{D} float64, fresh process, 1 thread"
    mc = h.print_table(f"{title}: COLD (empty cache), graph build to first result", rows["cold"])
    mw = h.print_table(f"{title}: WARM (cache primed by an earlier process)", rows["warm"])
    h.print_table(f"{title}: COLD, including `import` of the library", rows["cold+import"])
    h.print_table(f"{title}: WARM, including `import` of the library", rows["warm+import"])
    h.print_symc_breakdown(NAME)
    print("\nTargets:")
    s_cold, s_warm = mc.get("symc (C)"), mw.get("symc (C)")
    pt_cold = mc.get("PyTensor C (linker=cvm)")
    if s_cold is not None:
        h.verdict("cold < 0.5 s", s_cold < 0.5, h.fmt_time(s_cold))
        if pt_cold:
            ratio = f"PyTensor / symc = {pt_cold / s_cold:.1f}"
            h.verdict("cold <= 1/10 of PyTensor C", s_cold <= pt_cold / 10, ratio)
    if s_warm is not None:
        h.verdict("warm < 30 ms", s_warm < 0.030, h.fmt_time(s_warm))


if __name__ == "__main__":
    main()
