"""How fast graphs are built and differentiated (pure front-end cost, no compiling).

Workloads (fixed, so numbers stay comparable between runs and machines):

* ``chain 10k``: build a 10,000-op elementwise chain on a vector (sin, mul by
  a constant, add a constant, in turn) and reduce it to a scalar;
* ``grad chain 10k``: the gradient of that chain's sum w.r.t. the input;
* ``mlp grad``: a 6-layer tanh network (with ``row_dot`` written by
  broadcasting and summing, so no matmul op is needed), its
  softplus-regularised loss, and the gradient w.r.t. every weight and bias.

Run ``python -m benchmarks.graph_build`` or ``python benchmarks/graph_build.py``;
it prints a Markdown table: median, min and max of several runs, for symc and,
when installed, PyTensor doing the same work.
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

CHAIN = 10_000
LAYERS = 6
REPEATS = 7


def _workloads(lib, grad, as_row) -> dict[str, Callable[[], object]]:
    """The three workloads in ``lib`` (symc or ``pytensor.tensor``); ``as_row(v)`` is v[None, :]."""

    def build_chain():
        x = lib.vector("x")
        return lib.sum(elementwise_chain(lib, x, CHAIN)), x

    def grad_chain():
        cost, x = build_chain()
        return grad(cost, x)

    def mlp_grad():
        x = lib.vector("x")
        params = []
        h = x
        for k in range(LAYERS):
            W = lib.matrix(f"W{k}")
            b = lib.vector(f"b{k}")
            params += [W, b]
            h = lib.tanh(lib.sum(W * as_row(h), axis=1) + b)
        cost = lib.mean(lib.softplus(-h)) + 1e-3 * sum(lib.sum(p**2) for p in params)
        return grad(cost, params)

    return {"chain 10k": build_chain, "grad chain 10k": grad_chain, "mlp grad": mlp_grad}


def symc_workloads() -> dict[str, Callable[[], object]]:
    import symc as sc

    return _workloads(sc, sc.grad, lambda v: sc.expand_dims(v, 0))


def pytensor_workloads() -> dict[str, Callable[[], object]] | None:
    try:
        import pytensor
        import pytensor.tensor as pt
    except ImportError:
        return None
    return _workloads(pt, pytensor.grad, lambda v: v.dimshuffle("x", 0))


def measure(fn: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    limit = max(sys.getrecursionlimit(), 50_000)  # PyTensor's grad recurses on deep chains
    sys.setrecursionlimit(limit)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        keep = fn()  # noqa: F841 - hold the graph until timed
        times.append(time.perf_counter() - start)
        del keep
    return times


def _ms(t: float) -> str:
    return f"{t * 1e3:8.1f} ms"


def main() -> None:
    systems = {"symc": symc_workloads(), "PyTensor": pytensor_workloads()}
    print(f"graph build and grad, front end only (median of {REPEATS})\n")
    print("| workload       | system   |   median    |     min     |     max     | x symc |")
    print("|----------------|----------|-------------|-------------|-------------|--------|")
    for name in systems["symc"]:
        base = None
        for system, work in systems.items():
            if work is None:
                print(f"| {name:<14} | {system:<8} | not installed |  |  |  |")
                continue
            try:
                times = measure(work[name])
            except RecursionError:
                print(f"| {name:<14} | {system:<8} | RecursionError |  |  |  |")
                continue
            med = statistics.median(times)
            base = med if base is None else base
            print(
                f"| {name:<14} | {system:<8} | {_ms(med)} | {_ms(min(times))} | "
                f"{_ms(max(times))} | {med / base:6.2f} |"
            )


if __name__ == "__main__":
    main()
