"""A fused elementwise expression on large arrays: ``exp(-x**2)*sin(y) + log1p(z*z)``.

Workload (fixed): x, y, z of 10^7 float64 each (uniform in [-3, 3], seed 0).
Each system runs in its own fresh process: one thread pinned to CPU 0, or two
threads on CPUs 0-1 for the rows saying so (symc with ``num_threads=2``;
numexpr with 2 threads for reference). Compiled once, checked against NumPy,
then 1 warm-up and N timed calls. Targets (issue 4): symc with one thread at
most 1/5 of JAX's time; symc with 2 threads at least 1.7x faster than with 1.

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
    print("\nTargets:")
    s1, s2, jx = (med.get(k) for k in ("symc (C), 1 thread", "symc (C), 2 threads", ROWS[-1][0]))
    if s1 is not None and jx is not None:
        h.verdict("1 thread <= 1/5 of JAX", s1 <= jx / 5, f"JAX / symc = {jx / s1:.2f}")
    if s1 is not None and s2 is not None:
        h.verdict("2 threads >= 1.7x faster than 1", s1 / s2 >= 1.7, f"{s1 / s2:.2f}x")


if __name__ == "__main__":
    main()
