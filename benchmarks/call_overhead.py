"""Per-call overhead of a compiled function: ``f(a, b) = a + b`` on length-1 float64.

Each row times the statement ``f(a, b)`` with ``timeit`` (no lambda in the
loop), many loops per run, median of the runs; one thread, pinned to CPU 0.
Rows: symc's ``sc.function`` (and its raw kernel object, to show what the
Python wrapper adds), NumPy's own ``a + b``, PyTensor (C linker; default and
``trust_input``), a ``numba.njit`` function, and ``jax.jit``.
Target (issue 4): symc under 1.0 µs.

Run ``python -m benchmarks.call_overhead``.
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import _harness as h  # noqa: E402

NUMBER, REPEAT = 200_000, 9


def systems(a, b) -> dict:
    """``name -> (statement, namespace)`` or ``name -> "not installed"``."""
    import numpy as np

    rows: dict = {}
    import symc as sc

    x, y = sc.vector("a"), sc.vector("b")
    f = sc.function([x, y], x + y, backend="c")
    np.testing.assert_allclose(f(a, b), a + b)
    rows["symc sc.function"] = ("f(a, b)", {"f": f})
    if hasattr(f, "_kernel"):
        rows["symc raw kernel (no wrapper)"] = ("k(a, b)", {"k": f._kernel})
    rows["NumPy a + b"] = ("a + b", {})
    if h.have("pytensor"):
        import pytensor
        import pytensor.tensor as pt

        px, py = pt.vector("a"), pt.vector("b")
        g = pytensor.function([px, py], px + py, mode=pytensor.compile.mode.Mode(linker="cvm"))
        rows["PyTensor C (cvm)"] = ("g(a, b)", {"g": g})
        g2 = pytensor.function([px, py], px + py, mode=pytensor.compile.mode.Mode(linker="cvm"))
        g2.trust_input = True
        rows["PyTensor C (cvm), trust_input"] = ("g(a, b)", {"g": g2})
    else:
        rows["PyTensor"] = "not installed"
    if h.have("numba"):
        import numba

        @numba.njit(cache=False)
        def nb(p, q):
            return p + q

        nb(a, b)
        rows["numba njit"] = ("nb(a, b)", {"nb": nb})
    else:
        rows["numba"] = "not installed"
    if h.have("jax"):
        jax = h.jax_setup()
        j = jax.jit(lambda p, q: p + q)
        j(a, b).block_until_ready()
        rows["JAX jit (incl. block_until_ready)"] = ("j(a, b).block_until_ready()", {"j": j})
    else:
        rows["JAX"] = "not installed"
    return rows


def main() -> None:
    h.one_thread(0)
    import numpy as np

    a, b = np.ones(1), np.full(1, 2.0)
    results = {}
    for name, spec in systems(a, b).items():
        if isinstance(spec, str):
            results[name] = spec
            continue
        stmt, ns = spec
        number = NUMBER if "JAX" not in name else NUMBER // 20
        try:
            results[name] = h.time_stmt(stmt, {**ns, "a": a, "b": b}, number, REPEAT)
        except Exception as exc:  # noqa: BLE001 - a peer failing is a table cell
            results[name] = h.failed(exc)
    med = h.print_table(
        f"per-call overhead, f(a, b) = a + b, float64 length 1, CPU 0 "
        f"(median of {REPEAT} runs x {NUMBER} calls; JAX {NUMBER // 20})",
        results,
    )
    print("\nTargets:")
    s = med.get("symc sc.function")
    if s is not None:
        h.verdict("per call < 1.0 µs", s < 1e-6, h.fmt_time(s))


if __name__ == "__main__":
    main()
