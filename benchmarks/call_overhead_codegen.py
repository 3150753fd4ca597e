"""Per-call overhead of a compiled codegen program, and compile / cache-hit times.

Run: ``python benchmarks/call_overhead_codegen.py`` (pins itself to CPU 0).
Workload (fixed): ``f(a, b) = a + b`` on float64 arrays of length 1.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from codegen import cache as cache_mod  # noqa: E402
from codegen import load_c  # noqa: E402
from codegen.ir import (  # noqa: E402
    BinOp,
    Buffer,
    Elementwise,
    Load,
    Program,
    Shape,
    Store,
    bcast,
    broadcast_view,
    contiguous_view,
)

N_CALLS, REPEATS = 20000, 9


def add_program() -> Program:
    a, b = Buffer("a", "float64", 1), Buffer("b", "float64", 1)
    shape = (bcast(Shape(a, 0), Shape(b, 0)),)
    out = Buffer("out", "float64", 1, "output", shape)
    expr = BinOp("add", Load(0, "float64"), Load(1, "float64"))
    stmt = Elementwise(
        shape, (broadcast_view(a, 1), broadcast_view(b, 1)), (Store(contiguous_view(out), expr),)
    )
    return Program((a, b), (out,), (), (stmt,))


def per_call_us(fn, *args) -> list:
    runs = timeit.repeat(lambda: fn(*args), number=N_CALLS, repeat=REPEATS)
    return [r / N_CALLS * 1e6 for r in runs]


def forget_in_memory() -> None:
    cache_mod.Cache._memory.clear()
    load_c._LOADED.clear()


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    prog = add_program()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        load_c.compile_and_load(prog, cache_dir=tmp, fast=False)  # toolchain probe + compile
        cold = time.perf_counter() - t0
        forget_in_memory()
        t0 = time.perf_counter()
        fast = load_c.compile_and_load(prog, cache_dir=tmp)  # hit + shim build on first use
        shim_first = time.perf_counter() - t0
        forget_in_memory()
        t0 = time.perf_counter()
        fast = load_c.compile_and_load(prog, cache_dir=tmp)
        hit = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_c.compile_and_load(prog, cache_dir=tmp)
        memo = time.perf_counter() - t0
        slow = load_c.compile_and_load(prog, cache_dir=tmp, fast=False).fn
        a, b = np.ones(1), np.ones(1)
        rows = {
            "codegen (C shim)": per_call_us(fast.fn, a, b),
            "codegen (cffi fallback)": per_call_us(slow, a, b),
            "NumPy np.add(a, b)": per_call_us(np.add, a, b),
        }
    print(f"f(a, b) = a + b, float64, length 1, CPU 0 (median of {REPEATS} x {N_CALLS} calls)\n")
    print("| system | median µs | min µs | max µs | x codegen |")
    print("|---|---|---|---|---|")
    base = statistics.median(rows["codegen (C shim)"])
    for name, xs in rows.items():
        med = statistics.median(xs)
        print(f"| {name} | {med:.3f} | {min(xs):.3f} | {max(xs):.3f} | {med / base:.2f} |")
    print("\n| step | seconds |")
    print("|---|---|")
    print(f"| cold: toolchain probe + render + compile + load (cffi) | {cold:.3f} |")
    print(f"| first fast load (builds the call shim once per cache) | {shim_first:.3f} |")
    print(f"| cache hit in a warm process (render, verify, dlopen) | {hit:.4f} |")
    print(f"| same program again in-process (memoized) | {memo * 1e6:.1f} µs |")


if __name__ == "__main__":
    main()
