"""How long the optimizer takes, and how that grows with the graph.

Workloads (fixed, so numbers stay comparable):

* ``mlp50 grad``: a 50-layer tanh MLP (8 units, matmul), its squared-error
  loss, and the gradient w.r.t. all 100 weights and biases, rewritten together;
* ``chain 10k``: a 10,000-node elementwise chain on a vector (sin, mul by a
  constant, add a constant, in turn);
* ``chain 1k / 10k / 100k``: the same chain at three sizes, with the time per
  node, to show the growth is near-linear.

Each row is the full pipeline (canonicalize+stabilize, specialize, fuse) on a
freshly built graph. PyTensor's ``fast_run`` rewrites of the same graphs are
timed when PyTensor is installed. Run ``python -m benchmarks.rewrite_scale``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._harness import elementwise_chain  # noqa: E402

LAYERS = 50
WIDTH = 8
SIZES = (1_000, 10_000, 100_000)
REPEATS = 5


def _chain_builder(lib, n: int) -> Callable[[], list]:
    """Builds the ``n``-op chain on a fresh vector of ``lib``, each call."""

    def build():
        return [elementwise_chain(lib, lib.vector("x"), n)]

    return build


def _mlp(lib, grad, layers: int):
    X, t = lib.matrix("X"), lib.vector("t")
    h, params = X, []
    for k in range(layers):
        W, b = lib.matrix(f"W{k}"), lib.vector(f"b{k}")
        params += [W, b]
        h = lib.tanh(lib.dot(h, W) + b)
    cost = lib.mean((lib.sum(h, axis=1) - t) ** 2)
    return [cost, *grad(cost, params)]


def _time(build: Callable[[], object], rewrite: Callable[[object], object], repeats: int):
    times = []
    for _ in range(repeats):
        graph = build()
        t0 = time.perf_counter()
        rewrite(graph)
        times.append(time.perf_counter() - t0)
    return times


def symc_cases() -> dict[str, tuple[Callable, Callable, int]]:
    import symc as sc
    from symc.graph.traverse import toposort
    from symc.rewriting import optimize

    def mlp():
        return _mlp(sc, sc.grad, LAYERS)

    cases = {"mlp50 grad": (mlp, optimize, len(toposort(mlp())))}
    for n in SIZES:
        cases[f"chain {n // 1000}k"] = (_chain_builder(sc, n), optimize, n + 3)
    return cases


def pytensor_cases() -> dict[str, tuple[Callable, Callable, int]] | None:
    try:
        import pytensor
        import pytensor.tensor as pt
        from pytensor.graph.rewriting.utils import rewrite_graph
    except ImportError:
        return None

    def rewrite(outs):
        return rewrite_graph(outs, include=("fast_run",), clone=False)

    def mlp():
        return _mlp(pt, pytensor.grad, LAYERS)

    cases = {"mlp50 grad": (mlp, rewrite, 0)}
    for n in SIZES[:-1]:  # 100k: minutes, and PyTensor's recursion limits
        cases[f"chain {n // 1000}k"] = (_chain_builder(pt, n), rewrite, n + 3)
    return cases


def _fmt(s: float) -> str:
    return f"{s * 1e3:8.1f} ms" if s < 10 else f"{s:8.2f} s "


def main() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 400_000))  # PyTensor recurses
    systems = {"symc": symc_cases(), "pytensor": pytensor_cases()}
    print(f"Rewrite time, full pipeline (median of {REPEATS}; 100k chain, PyTensor 10k: of 2)\n")
    print("| workload | system | nodes | median | min | max | us/node | x symc |")
    print("|---|---|---|---|---|---|---|---|")
    symc_median: dict[str, float] = {}
    for name in systems["symc"]:
        for system, cases in systems.items():
            if cases is None or name not in cases:
                continue
            build, rewrite, nodes = cases[name]
            slow = "100k" in name or (system == "pytensor" and "chain" in name and "1k" not in name)
            reps = 2 if slow else REPEATS
            try:
                ts = _time(build, rewrite, reps)
            except RecursionError:
                print(f"| {name} | {system} | {nodes} | recursion limit | | | | |")
                continue
            med = statistics.median(ts)
            if system == "symc":
                symc_median[name] = med
            per = f"{med / nodes * 1e6:.1f}" if nodes else ""
            ratio = med / symc_median[name]
            print(
                f"| {name} | {system} | {nodes or ''} | {_fmt(med)} | {_fmt(min(ts))} | "
                f"{_fmt(max(ts))} | {per} | {ratio:.2f} |"
            )
    if systems["pytensor"] is None:
        print("\n(PyTensor is not installed: `pip install -e .[bench]` to compare.)")
    else:
        print("\n(PyTensor: `rewrite_graph(outs, include=('fast_run',))`; not run on 100k.)")


if __name__ == "__main__":
    main()
