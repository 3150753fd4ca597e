"""Cold compile time of a deep graph: 15 residual layers and their 15 gradients.

Workload (fixed): X and W_1..W_15, all 32x32 float64;
``h_i = f_i(h_{i-1} @ W_i) + h_{i-1}`` with f_i cycling tanh, sin,
``exp(-u*u)``, cos; ``loss = mean(h_15**2)``; outputs the loss and dloss/dW_i.

Each sample is a fresh process (one thread, CPU 0) with an empty cache
directory, timed from graph building to the first result. PyTensor takes
tens of seconds per sample, so it gets fewer samples (``--peers N``). Target
(issue 4): symc < 1 s and <= 1/40 of PyTensor C.

Run ``python -m benchmarks.compile_deep`` (``--quick``: fewer samples).
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import _harness as h  # noqa: E402

SIZE, LAYERS = 32, 15
NAME = "compile_deep"


def data():
    import numpy as np

    rng = np.random.default_rng(0)
    return [rng.standard_normal((SIZE, SIZE)) * (0.3 if k else 1.0) for k in range(LAYERS + 1)]


def _forward(lib, X, Ws):
    fs = (lib.tanh, lib.sin, lambda u: lib.exp(-u * u), lib.cos)
    h = X
    for i, W in enumerate(Ws):
        h = fs[i % 4](lib.dot(h, W)) + h
    return lib.mean(h**2)


def symc_graph():
    import symc as sc

    X = sc.matrix("X")
    Ws = [sc.matrix(f"W{i + 1}") for i in range(LAYERS)]
    loss = _forward(sc, X, Ws)
    return [X, *Ws], [loss, *sc.grad(loss, Ws)]


def child_symc() -> None:
    h.report(**h.symc_first_result(symc_graph, data))


def child_symc_breakdown() -> None:
    h.report(**h.symc_breakdown(symc_graph, data))


def child_pytensor() -> None:
    t_imp = h.clock()
    import pytensor
    import pytensor.tensor as pt

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    args = data()
    t0 = h.clock()
    X = pt.matrix("X")
    Ws = [pt.matrix(f"W{i + 1}") for i in range(LAYERS)]
    loss = _forward(pt, X, Ws)
    f = pytensor.function([X, *Ws], [loss, *pytensor.grad(loss, Ws)])
    f(*args)
    h.report(seconds=h.clock() - t0, import_s=t0 - t_imp)


def child_jax() -> None:
    t_imp = h.clock()
    jax = h.jax_setup()
    import jax.numpy as jnp

    args = data()
    t0 = h.clock()
    f = jax.jit(jax.value_and_grad(lambda Ws, X: _forward(jnp, X, Ws)))
    jax.block_until_ready(f(args[1:], args[0]))
    h.report(seconds=h.clock() - t0, import_s=t0 - t_imp)


def _arg(flag: str, default: int) -> int:
    return int(sys.argv[sys.argv.index(flag) + 1]) if flag in sys.argv else default


def main() -> None:
    h.precompile()
    quick = "--quick" in sys.argv
    n_symc = 2 if quick else 5
    n_peer = _arg("--peers", 1)
    systems = h.compile_systems(
        symc=(n_symc, 0 if quick else 5), peers=(n_peer, 0), jax=(1 if quick else 3, 0)
    )
    rows = h.measure_compile(NAME, systems)
    title = (
        f"deep graph: {LAYERS} layers of {SIZE}x{SIZE} float64, loss + {LAYERS} gradients, "
        "fresh process, 1 thread"
    )
    mc = h.print_table(
        f"{title}: COLD compile (empty cache), graph build to first result",
        rows["cold"],
        note=f"PyTensor: {n_peer} sample(s) each (tens of seconds per sample).",
    )
    h.print_table(f"{title}: COLD, including `import` of the library", rows["cold+import"])
    if rows["warm"]:
        h.print_table(f"{title}: warm cache (for reference)", rows["warm"])
    h.print_symc_breakdown(NAME)
    print("\nTargets:")
    s, pt = mc.get("symc (C)"), mc.get("PyTensor C (linker=cvm)")
    if s is not None:
        h.verdict("cold < 1 s", s < 1.0, h.fmt_time(s))
        if pt:
            h.verdict("cold <= 1/40 of PyTensor C", s <= pt / 40, f"{pt / s:.1f}x")


if __name__ == "__main__":
    main()
