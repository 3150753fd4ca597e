"""A fused elementwise expression on large arrays: ``exp(-x**2)*sin(y) + log1p(z*z)``.

Workload (fixed): x, y, z of 10^7 float64 each (uniform in [-3, 3], seed 0).
Each system runs in its own fresh process: one thread pinned to CPU 0, or two
threads on CPUs 0-1 for the rows saying so (symc with ``num_threads=2``;
numexpr with 2 threads for reference). Compiled once, checked against NumPy,
then 1 warm-up and N timed calls. Targets (issue 4): symc with one thread at
most 1/5 of JAX's time; symc with 2 threads at least 1.7x faster than with 1.
Both are judged on a paired run: symc (1 and 2 threads) and JAX in one
process on CPUs 0-1, one call of each in turn, since separate processes run
one after another can meet this machine in different phases of its speed.

Run ``python -m benchmarks.fused_elementwise`` (``--quick``: fewer calls).
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import _harness as h  # noqa: E402

N = 10_000_000
NAME = "fused_elementwise"


def data():
    import numpy as np

    rng = np.random.default_rng(0)
    return [rng.uniform(-3, 3, N) for _ in range(3)]


def reference(x, y, z):
    import numpy as np

    return np.exp(-(x**2)) * np.sin(y) + np.log1p(z * z)


def _make(system: str, threads: int):
    """A callable ``fn(x, y, z)`` returning a NumPy-comparable result."""
    if system == "symc":
        import symc as sc

        sc.config.num_threads = threads
        x, y, z = sc.vector("x"), sc.vector("y"), sc.vector("z")
        return sc.function([x, y, z], sc.exp(-(x**2)) * sc.sin(y) + sc.log1p(z * z), backend="c")
    if system == "numpy":
        return reference
    if system == "numexpr":
        import numexpr as ne

        ne.set_num_threads(threads)
        return lambda x, y, z: ne.evaluate("exp(-x**2)*sin(y) + log1p(z*z)")
    if system == "pytensor":
        import pytensor
        import pytensor.tensor as pt

        x, y, z = pt.vector("x"), pt.vector("y"), pt.vector("z")
        out = pt.exp(-(x**2)) * pt.sin(y) + pt.log1p(z * z)
        mode = pytensor.compile.mode.Mode(linker="cvm")
        return pytensor.function([x, y, z], out, mode=mode)
    if system == "jax":
        jax = h.jax_setup()
        import jax.numpy as jnp

        f = jax.jit(lambda x, y, z: jnp.exp(-(x**2)) * jnp.sin(y) + jnp.log1p(z * z))
        return lambda x, y, z: f(x, y, z).block_until_ready()
    raise ValueError(system)


def child(system: str, threads: int, repeat: int) -> None:
    import numpy as np

    x, y, z = data()
    fn = _make(system, threads)
    got = np.asarray(fn(x, y, z))
    np.testing.assert_allclose(got, reference(x, y, z), rtol=1e-12, atol=1e-12)
    if system == "jax":
        args = [__import__("jax").device_put(a) for a in (x, y, z)]
    else:
        args = [x, y, z]
    h.report(seconds=h.time_runs(lambda: fn(*args), repeat, warmup=1))


def child_paired(blocks: int) -> None:
    """symc on 1 and 2 threads and JAX on 1, one call each in turn, in one process."""
    import numpy as np

    x, y, z = data()
    want = reference(x, y, z)
    calls = {}
    for label, system, threads in (("symc1", "symc", 1), ("symc2", "symc", 2), ("jax", "jax", 1)):
        fn = _make(system, threads)
        np.testing.assert_allclose(np.asarray(fn(x, y, z)), want, rtol=1e-12, atol=1e-12)
        calls[label] = lambda fn=fn: fn(x, y, z)
    h.report(**h.time_paired(calls, blocks))


ROWS = (
    ("symc (C), 1 thread", "symc", 1, "symc"),
    ("symc (C), 2 threads", "symc", 2, "symc"),
    ("NumPy", "numpy", 1, "numpy"),
    ("numexpr, 1 thread", "numexpr", 1, "numexpr"),
    ("numexpr, 2 threads", "numexpr", 2, "numexpr"),
    ("PyTensor C (cvm)", "pytensor", 1, "pytensor"),
    ("JAX jit (CPU), 1 thread", "jax", 1, "jax"),
)


def main() -> None:
    repeat = 3 if "--quick" in sys.argv else 9
    rows = {}
    for label, system, threads, module in ROWS:
        if not h.have(module):
            rows[label] = "not installed"
            continue
        extra = {"NUMEXPR_NUM_THREADS": str(threads)} if system == "numexpr" else {}
        if threads > 1:
            extra.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
        env = h.child_env({"SYMC_CACHE_DIR": h.fresh_dir(NAME), **extra})
        cpus = (0,) if threads == 1 else tuple(range(threads))
        try:
            res = h.run_child(NAME, f"child({system!r}, {threads}, {repeat})", env, cpus=cpus)
            rows[label] = res["seconds"]
        except Exception as exc:  # noqa: BLE001 - a peer failing is a table cell
            rows[label] = h.failed(exc)
    med = h.print_table(
        f"exp(-x**2)*sin(y) + log1p(z*z), float64, N={N:,}, each system in a fresh process, "
        f"1 thread on CPU 0 unless stated (median of {repeat} calls)",
        rows,
    )
    s1, s2, jx = (med.get(k) for k in ("symc (C), 1 thread", "symc (C), 2 threads", ROWS[-1][0]))
    paired = None
    if h.have("jax"):
        env = h.child_env({"SYMC_CACHE_DIR": h.fresh_dir(NAME), "OMP_NUM_THREADS": "2"})
        paired = h.run_child(NAME, f"child_paired({repeat})", env, cpus=(0, 1))
        h.print_table(
            "the same in one process on CPUs 0-1, one call of each in turn (paired)",
            {
                "symc (C), 1 thread": paired["symc1"],
                "symc (C), 2 threads": paired["symc2"],
                "JAX jit (CPU), 1 thread": paired["jax"],
            },
        )
    print("\nTargets:")
    if paired is not None:
        r, lo, hi = h.paired_ratio(paired["jax"], paired["symc1"])
        apart = f"; separate processes {jx / s1:.2f}" if s1 and jx else ""
        spread = f"{lo:.2f}-{hi:.2f}{apart}"
        h.verdict("1 thread <= 1/5 of JAX (paired)", r >= 5, f"JAX / symc = {r:.2f}, {spread}")
        r, lo, hi = h.paired_ratio(paired["symc1"], paired["symc2"])
        apart = f"; separate processes {s1 / s2:.2f}x" if s1 and s2 else ""
        spread = f"{lo:.2f}-{hi:.2f}{apart}"
        h.verdict("2 threads >= 1.7x faster than 1 (paired)", r >= 1.7, f"{r:.2f}x, {spread}")
        return
    if s1 is not None and jx is not None:
        h.verdict("1 thread <= 1/5 of JAX", s1 <= jx / 5, f"JAX / symc = {jx / s1:.2f}")
    if s1 is not None and s2 is not None:
        h.verdict("2 threads >= 1.7x faster than 1", s1 / s2 >= 1.7, f"{s1 / s2:.2f}x")


if __name__ == "__main__":
    main()
