"""Scan: a tanh RNN forward, its gradient through time (BPTT), and compiling both.

Workload (fixed): hidden size 16, T = 10,000 steps, float64;
``h_t = tanh(W h_{t-1} + x_t)`` from ``h_0 = 0``, with W 16x16 (entries
N(0, 1) * 0.5 / 4) and X (T, 16) ~ N(0, 1).

* forward: every state ``h_1 .. h_T`` (a (T, 16) array);
* BPTT: ``d sum(h_T) / dW``;
* compile: building the forward and the gradient graphs and compiling them,
  in a fresh process with an empty cache, to their first results: as one
  function returning the states and dW (one C compile), and as two functions.

Systems: symc (backend "c"; the python reference backend when the loop has
no C lowering, the C row then says so), JAX ``lax.scan`` (jit, CPU), numba
(a hand-written loop and a hand-written BPTT), NumPy (a Python loop and a
hand-written BPTT) and PyTensor ``scan`` (linker=cvm). Each system runs in its
own fresh process, one thread on CPU 0 (BLAS and XLA too), and checks its
results against the NumPy ones before it is timed.

Targets (issue 5): symc forward <= JAX, BPTT <= JAX, compile < 1 s. The
comparisons with JAX are judged on a paired run (symc and JAX in one
process, blocks alternating; see ``_harness.time_paired``): processes run
one after another can meet this machine in different phases of its speed.

Run ``python -m benchmarks.scan_rnn`` (``--quick``: fewer repeats).
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import _harness as h  # noqa: E402

H, T = 16, 10_000
NAME = "scan_rnn"


def data():
    import numpy as np

    rng = np.random.default_rng(0)
    W = rng.standard_normal((H, H)) * (0.5 / np.sqrt(H))
    X = rng.standard_normal((T, H))
    return W, X, np.zeros(H)


# --- NumPy: the reference, and a system ------------------------------------------------


def numpy_forward(W, X, h0):
    import numpy as np

    hs = np.empty((len(X), len(h0)))
    h = h0
    for t in range(len(X)):
        h = np.tanh(W @ h + X[t])
        hs[t] = h
    return hs


def numpy_bptt(W, X, h0):
    """d sum(h_T) / dW: the forward states, then the adjoint walked back."""
    import numpy as np

    hs = numpy_forward(W, X, h0)
    a = np.ones(len(h0))
    gW = np.zeros_like(W)
    for t in range(len(X) - 1, -1, -1):
        d = a * (1.0 - hs[t] ** 2)
        gW += np.outer(d, hs[t - 1] if t else h0)
        a = W.T @ d
    return gW


# --- the systems: each returns (forward, bptt) callables on (W, X, h0) ------------------


def _symc(backend: str):
    import symc as sc

    W, X, h0 = sc.matrix("W"), sc.matrix("X"), sc.vector("h0")
    hs, _ = sc.scan(
        lambda x, h, W: sc.tanh(W @ h + x), sequences=X, outputs_info=h0, non_sequences=W
    )
    gW = sc.grad(sc.sum(hs[-1]), W)
    return (
        sc.function([W, X, h0], hs, backend=backend),
        sc.function([W, X, h0], gW, backend=backend),
    )


def _symc_backend() -> str:
    """ "c" when the loop compiles to C, else "python" (see :func:`child_probe`)."""
    import symc as sc

    try:
        _symc("c")
    except sc.SymcError as err:
        if "lower" in str(err) or "Loop" in str(err) or "scan" in str(err):
            return "python"
        raise
    return "c"


def _jax():
    jax = h.jax_setup()
    import jax.numpy as jnp

    def forward(W, X, h0):
        def step(h, x):
            h = jnp.tanh(W @ h + x)
            return h, h

        return jax.lax.scan(step, h0, X)[1]

    def last(W, X, h0):
        def step(h, x):
            return jnp.tanh(W @ h + x), None

        return jnp.sum(jax.lax.scan(step, h0, X)[0])

    f, g = jax.jit(forward), jax.jit(jax.grad(last))

    def run(fn):
        return lambda *a: jax.block_until_ready(fn(*a))

    return run(f), run(g)


def _numba():
    import numba
    import numpy as np

    @numba.njit(cache=False, fastmath=False)
    def forward(W, X, h0):
        n, m = X.shape
        hs = np.empty((n, m))
        h = h0.copy()
        for t in range(n):
            for i in range(m):
                s = X[t, i]
                for j in range(m):
                    s += W[i, j] * h[j]
                hs[t, i] = np.tanh(s)
            h = hs[t]
        return hs

    @numba.njit(cache=False, fastmath=False)
    def bptt(W, X, h0):
        hs = forward(W, X, h0)
        n, m = X.shape
        a = np.ones(m)
        d = np.empty(m)
        gW = np.zeros((m, m))
        for t in range(n - 1, -1, -1):
            prev = hs[t - 1] if t > 0 else h0
            for i in range(m):
                d[i] = a[i] * (1.0 - hs[t, i] * hs[t, i])
            for i in range(m):
                for j in range(m):
                    gW[i, j] += d[i] * prev[j]
            for j in range(m):
                s = 0.0
                for i in range(m):
                    s += W[i, j] * d[i]
                a[j] = s
        return gW

    return forward, bptt


def _pytensor():
    import pytensor
    import pytensor.tensor as pt

    W, X, h0 = pt.matrix("W"), pt.matrix("X"), pt.vector("h0")
    got = pytensor.scan(
        lambda x, h, W: pt.tanh(pt.dot(W, h) + x),
        sequences=X,
        outputs_info=h0,
        non_sequences=W,
    )
    hs = got[0] if isinstance(got, tuple) else got
    gW = pytensor.grad(hs[-1].sum(), W)
    mode = pytensor.compile.mode.Mode(linker="cvm")
    return (
        pytensor.function([W, X, h0], hs, mode=mode),
        pytensor.function([W, X, h0], gW, mode=mode),
    )


def _make(system: str):
    if system == "symc":
        return _symc(_symc_backend())
    if system == "symc-python":
        return _symc("python")
    if system == "jax":
        return _jax()
    if system == "numba":
        return _numba()
    if system == "pytensor":
        return _pytensor()
    if system == "numpy":
        return numpy_forward, numpy_bptt
    raise ValueError(system)


# --- children (fresh processes) ----------------------------------------------------------


def child_probe() -> None:
    """Which backend the symc row uses."""
    h.report(backend=_symc_backend())


def child(system: str, repeat: int) -> None:
    import numpy as np

    W, X, h0 = data()
    forward, bptt = _make(system)
    want_hs, want_g = numpy_forward(W, X, h0), numpy_bptt(W, X, h0)
    np.testing.assert_allclose(np.asarray(forward(W, X, h0)), want_hs, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(bptt(W, X, h0)), want_g, rtol=1e-9, atol=1e-12)
    h.report(
        forward=h.time_runs(lambda: forward(W, X, h0), repeat),
        bptt=h.time_runs(lambda: bptt(W, X, h0), repeat),
    )


def child_paired(blocks: int) -> None:
    """symc and JAX in one process, forward and BPTT blocks alternating."""
    W, X, h0 = data()
    (sf, sg), (jf, jg) = _make("symc"), _make("jax")
    calls = {
        "forward symc": lambda: sf(W, X, h0),
        "forward jax": lambda: jf(W, X, h0),
        "bptt symc": lambda: sg(W, X, h0),
        "bptt jax": lambda: jg(W, X, h0),
    }
    h.report(**h.time_paired(calls, blocks, number=5))


def child_compile(together: bool, backend: str = "c") -> None:
    """symc: build the graphs, compile, first results (empty cache).

    ``together``: one function returning the states and dW (one C compile);
    else the forward and the gradient as two functions (two compiles).
    ``backend`` comes from :func:`child_probe`, run apart: probing here would
    compile both functions once more and charge that to the timing.
    """
    W, X, h0 = data()
    t_imp = h.clock()
    import symc as sc

    t0 = h.clock()
    if together:
        Ws, Xs, h0s = sc.matrix("W"), sc.matrix("X"), sc.vector("h0")
        hs, _ = sc.scan(
            lambda x, h, W: sc.tanh(W @ h + x), sequences=Xs, outputs_info=h0s, non_sequences=Ws
        )
        gW = sc.grad(sc.sum(hs[-1]), Ws)
        sc.function([Ws, Xs, h0s], [hs, gW], backend=backend)(W, X, h0)
    else:
        forward, bptt = _symc(backend)
        forward(W, X, h0)
        bptt(W, X, h0)
    h.report(seconds=h.clock() - t0, import_s=t0 - t_imp)


SYSTEMS = (
    ("JAX lax.scan (jit, CPU)", "jax", "jax"),
    ("numba (hand-written loop + BPTT)", "numba", "numba"),
    ("NumPy (Python loop + hand-written BPTT)", "numpy", "numpy"),
    ("PyTensor scan (linker=cvm)", "pytensor", "pytensor"),
)


def _run(system: str, repeat: int) -> dict | str:
    env = h.child_env({"SYMC_CACHE_DIR": h.fresh_dir(NAME), "JAX_PLATFORMS": "cpu"})
    try:
        return h.run_child(NAME, f"child({system!r}, {repeat})", env)
    except Exception as exc:  # noqa: BLE001 - a peer failing is a table cell
        return h.failed(exc)


def main() -> None:
    h.precompile()
    quick = "--quick" in sys.argv
    fast, slow = (5, 2) if quick else (15, 5)
    env = h.child_env({"SYMC_CACHE_DIR": h.fresh_dir(NAME)})
    backend = h.run_child(NAME, "child_probe()", env)["backend"]
    results: dict[str, dict | str] = {}
    if backend == "c":
        results["symc (C)"] = _run("symc", fast)
    else:
        results["symc (C)"] = "no C lowering yet"
        results["symc (python reference)"] = _run("symc-python", slow)
    for label, system, module in SYSTEMS:
        if not h.have(module):
            results[label] = "not installed"
            continue
        results[label] = _run(system, slow if system in ("numpy", "pytensor") else fast)

    def rows(key: str) -> dict:
        return {k: v if isinstance(v, str) else v[key] for k, v in results.items()}

    where = f"hidden {H}, T = {T:,}, float64, fresh process each, 1 thread on CPU 0"
    fwd = h.print_table(
        f"forward h_t = tanh(W h_(t-1) + x_t), all states; {where}", rows("forward")
    )
    bp = h.print_table(f"BPTT d sum(h_T)/dW; {where}", rows("bptt"))
    compile_s: dict[str, list[float]] = {
        "symc, one function (states and dW)": [],
        "symc, two functions (forward; dW)": [],
    }
    for _ in range(2 if quick else 5):
        for label, together in zip(compile_s, (True, False), strict=True):
            env = h.child_env({"SYMC_CACHE_DIR": h.fresh_dir(NAME)})
            res = h.run_child(NAME, f"child_compile({together}, {backend!r})", env)
            compile_s[label].append(res["seconds"])
    comp = h.print_table(
        f"symc compile, forward + gradient, fresh process, empty cache (backend {backend!r}), "
        f"graph build to first results (import excluded)",
        compile_s,
    )

    paired = None
    jax = "JAX lax.scan (jit, CPU)"
    if backend == "c" and h.have("jax"):
        env = h.child_env({"SYMC_CACHE_DIR": h.fresh_dir(NAME), "JAX_PLATFORMS": "cpu"})
        paired = h.run_child(NAME, f"child_paired({fast * 2})", env)
        for title in ("forward", "bptt"):
            h.print_table(
                f"{title}, symc and JAX in one process, blocks of 5 calls alternating (paired)",
                {"symc (C)": paired[f"{title} symc"], jax: paired[f"{title} jax"]},
            )

    print("\nTargets:")
    s_label = "symc (C)" if backend == "c" else "symc (python reference)"
    for title, med in (("forward", fwd), ("BPTT", bp)):
        s, j = med.get(s_label), med.get(jax)
        if paired is not None:
            key = title.lower()
            r, lo, hi = h.paired_ratio(paired[f"{key} symc"], paired[f"{key} jax"])
            apart = f"; separate processes {s / j:.2f}" if s is not None and j else ""
            h.verdict(
                f"symc {title} <= JAX (paired)",
                r <= 1.0,
                f"symc / JAX = {r:.2f}, pairs {lo:.2f}-{hi:.2f}{apart}",
            )
        elif s is not None and j is not None:
            h.verdict(f"symc {title} <= JAX", s <= j, f"symc / JAX = {s / j:.2f}")
    for label, c in comp.items():
        h.verdict(f"compile < 1 s ({label})", c < 1.0, h.fmt_time(c))


if __name__ == "__main__":
    main()
