"""Small helpers shared by the benchmark scripts: timing, child processes, tables, workloads.

Every script measures all its systems in one run and prints one Markdown
table per workload: rows are systems, columns median / min / max and the
ratio to symc's median (the first row that measured something).

Cold/warm compile times are measured in fresh child processes: the child
runs ``python -c "import benchmarks.NAME as m; m.child(...)"`` with the
environment given (an empty or a primed cache directory) and prints one
line ``RESULT {json}`` that the parent parses.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: one thread everywhere (BLAS, OpenMP, XLA), so ratios compare code, not cores
ONE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
#: set on some machines for old OpenBLAS builds; they slow a current NumPy down
_BLAS_WORKAROUNDS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def ensure_importable() -> None:
    """Put the repository root on ``sys.path`` (for ``python benchmarks/NAME.py``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def have(module: str) -> bool:
    """True when ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def one_thread(cpu: int | None = 0) -> None:
    """Pin this process to ``cpu`` and set one-thread variables for libraries not yet loaded."""
    for k in _BLAS_WORKAROUNDS:
        os.environ.pop(k, None)
    os.environ.update(ONE_THREAD_ENV)
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def child_env(extra: dict | None = None, *, threads: int = 1) -> dict:
    """The environment for a child process: one thread (unless told), repo importable."""
    env = dict(os.environ)
    for k in _BLAS_WORKAROUNDS:
        env.pop(k, None)
    if threads == 1:
        env.update(ONE_THREAD_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def run_child(
    module: str,
    call: str,
    env: dict,
    *,
    cpus: Sequence[int] | None = (0,),
    timeout: float = 600,
) -> dict:
    """Run ``import benchmarks.MODULE as m; m.CALL`` in a fresh interpreter; its RESULT dict.

    Raises RuntimeError (with the child's stderr tail) when it prints no result.
    """
    code = f"import benchmarks.{module} as m; m.{call}"
    cmd = [sys.executable, "-c", code]
    if cpus is not None and hasattr(os, "sched_setaffinity"):
        cmd = ["taskset", "-c", ",".join(map(str, cpus)), *cmd]
    proc = subprocess.run(
        cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
    raise RuntimeError(f"{call} exited {proc.returncode}: " + " | ".join(tail))


def precompile() -> None:
    """Write the bytecode of symc, codegen and the benchmarks once, before anything is timed.

    A user's installed package has its ``.pyc`` files; a checkout run with
    ``PYTHONDONTWRITEBYTECODE=1`` would otherwise recompile every module in
    every child and charge that to the compile times.
    """
    import compileall

    for pkg in ("symc", "codegen", "benchmarks"):
        compileall.compile_dir(str(ROOT / pkg), quiet=1)


def report(**values: object) -> None:
    """Print the RESULT line a child hands back to its parent."""
    print("RESULT " + json.dumps(values), flush=True)


def fresh_dir(tag: str) -> str:
    """A new empty directory under the system temp dir (removed by the OS, not by us)."""
    return tempfile.mkdtemp(prefix=f"symc-bench-{tag}-")


def clock() -> float:
    """The timer every measurement uses."""
    return time.perf_counter()


def time_runs(fn: Callable[[], object], repeat: int, warmup: int = 1) -> list[float]:
    """Seconds per ``fn()`` call, ``repeat`` times, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def time_paired(fns: dict, blocks: int, number: int = 1) -> dict:
    """Seconds per call of each of ``fns``, timed in alternating blocks in this process.

    This machine's speed drifts by tens of percent over seconds, so systems
    timed in separate processes one after another can land in different
    phases. Alternating blocks of ``number`` calls in one process lets each
    pair of neighbouring blocks see the same machine: compare them with
    :func:`paired_ratio`.
    """
    for fn in fns.values():  # warm-up
        fn()
    out: dict = {k: [] for k in fns}
    for _ in range(blocks):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            out[k].append((time.perf_counter() - t0) / number)
    return out


def paired_ratio(a: list, b: list) -> tuple:
    """(median, min, max) of ``a[i] / b[i]`` over the pairs of a :func:`time_paired` run."""
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)


def time_calls(fn: Callable[[], object], number: int, repeat: int) -> list[float]:
    """Seconds per call of a very cheap ``fn``: ``repeat`` timeit runs of ``number`` loops."""
    fn()
    return [t / number for t in timeit.repeat(fn, number=number, repeat=repeat)]


def fmt_time(seconds: float) -> str:
    """A duration with a unit that keeps three significant digits."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def print_table(title: str, rows: dict[str, list[float] | str], note: str = "") -> dict:
    """Print a Markdown table; a row is a list of seconds or a string (e.g. "not installed").

    Returns ``{system: median}`` for the rows that measured something.
    """
    print(f"\n{title}\n")
    print("| system | median | min | max | x symc |")
    print("|---|---|---|---|---|")
    base = None
    medians = {}
    for name, xs in rows.items():
        if isinstance(xs, str) or not xs:
            print(f"| {name} | {xs or 'no data'} | | | |")
            continue
        med = statistics.median(xs)
        medians[name] = med
        if base is None and name.startswith("symc"):
            base = med
        ratio = f"{med / base:.2f}" if base else ""
        print(f"| {name} | {fmt_time(med)} | {fmt_time(min(xs))} | {fmt_time(max(xs))} | {ratio} |")
    if note:
        print(f"\n{note}")
    return medians


def verdict(label: str, ok: bool, detail: str) -> str:
    """One line saying whether a target is met."""
    line = f"- {'PASS' if ok else 'FAIL'}: {label} ({detail})"
    print(line)
    return line


def failed(exc: BaseException) -> str:
    """A short table cell for a system that failed to run."""
    text = str(exc).strip().splitlines()
    return f"failed: {type(exc).__name__}: {(text[-1] if text else '')[:120]}"


def cold_and_warm(
    module: str, call: str, make_env: Callable[[str], dict], cold: int, warm: int
) -> dict[str, list[float]]:
    """Compile times in fresh processes: ``cold`` on empty cache dirs, ``warm`` on a primed one.

    ``make_env(cache_dir)`` gives the child's environment; the child reports
    ``seconds`` (graph building to first result) and ``import_s``. Returns
    lists under "cold", "warm", and "cold+import", "warm+import".
    """
    out: dict[str, list[float]] = {"cold": [], "warm": [], "cold+import": [], "warm+import": []}
    primed = None
    for _ in range(max(cold, 1 if warm else 0)):
        d = fresh_dir(module)
        res = run_child(module, call, make_env(d))
        out["cold"].append(res["seconds"])
        out["cold+import"].append(res["seconds"] + res.get("import_s", 0.0))
        primed = primed or d
    for _ in range(warm):
        res = run_child(module, call, make_env(primed))
        out["warm"].append(res["seconds"])
        out["warm+import"].append(res["seconds"] + res.get("import_s", 0.0))
    return out


def compile_systems(symc: tuple[int, int], peers: tuple[int, int], jax: tuple[int, int]) -> dict:
    """The systems a compile-time benchmark measures: ``{name: (call, env, module, cold, warm)}``.

    Each benchmark module defines ``child_symc()``, ``child_pytensor()`` and
    ``child_jax()``; each tuple is (cold samples, warm samples). PyTensor's two
    linkers share ``peers``.
    """
    return {
        "symc (C)": ("child_symc()", symc_env, "symc", *symc),
        "PyTensor C (linker=cvm)": (
            "child_pytensor()",
            lambda d: pytensor_env(d, "cvm"),
            "pytensor",
            *peers,
        ),
        "PyTensor numba (linker=numba)": (
            "child_pytensor()",
            lambda d: pytensor_env(d, "numba"),
            "numba",
            *peers,
        ),
        "JAX jit (CPU)": ("child_jax()", jax_env, "jax", *jax),
    }


def measure_compile(module: str, systems: dict) -> dict[str, dict]:
    """Run every system's cold/warm children; rows for :func:`print_table`.

    Returns ``{"cold": rows, "warm": rows, "cold+import": rows, "warm+import": rows}``;
    a system that is not installed or fails becomes a string cell.
    """
    out: dict[str, dict] = {"cold": {}, "warm": {}, "cold+import": {}, "warm+import": {}}
    for name, (call, env, mod, nc, nw) in systems.items():
        cell = None
        if not have(mod) or (mod == "numba" and not have("pytensor")):
            cell = "not installed"
        else:
            try:
                r = cold_and_warm(module, call, env, nc, nw)
            except Exception as exc:  # noqa: BLE001 - a peer failing is a table cell
                cell = failed(exc)
        if cell is not None:
            out["cold"][name] = cell
            if nw:
                out["warm"][name] = cell
            continue
        for kind in out:
            if r[kind]:
                out[kind][name] = r[kind]
    return out


def print_symc_breakdown(module: str) -> None:
    """Run ``MODULE.child_symc_breakdown()`` on an empty cache and print its table."""
    try:
        parts = run_child(module, "child_symc_breakdown()", symc_env(fresh_dir(module)))
        print_breakdown("symc cold compile, step by step (one fresh process, empty cache)", parts)
    except Exception as exc:  # noqa: BLE001
        print(f"\nbreakdown failed: {exc}")


def symc_env(cache_dir: str, flags: str = "") -> dict:
    """A child environment whose symc cache is ``cache_dir``."""
    extra = {"SYMC_CACHE_DIR": cache_dir}
    if flags:
        extra["SYMC_FLAGS"] = flags
    return child_env(extra)


def pytensor_env(cache_dir: str, linker: str = "cvm") -> dict:
    """A child environment with PyTensor's compiledir (and numba's cache) in ``cache_dir``."""
    return child_env(
        {
            "PYTENSOR_FLAGS": f"compiledir={cache_dir},linker={linker}",
            "NUMBA_CACHE_DIR": os.path.join(cache_dir, "numba"),
        }
    )


def jax_env(cache_dir: str) -> dict:
    """A child environment for JAX on CPU, one thread, persistent cache in ``cache_dir``."""
    return child_env({"JAX_PLATFORMS": "cpu", "SYMC_BENCH_JAX_CACHE": cache_dir})


def jax_setup():
    """Import JAX with float64 and its persistent compilation cache (see :func:`jax_env`)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    cache = os.environ.get("SYMC_BENCH_JAX_CACHE")
    if cache:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return jax


def symc_first_result(build: Callable[[], tuple], data: Callable[[], list]) -> dict:
    """A compile child's report: compile ``build()``'s graph for backend "c" and call it once.

    ``build()`` returns ``(inputs, outputs)``; ``data()`` makes the call's
    arguments, untimed. ``seconds`` runs from graph building to the first
    result; ``import_s`` is the time of ``import symc``.
    """
    args = data()
    t_imp = clock()
    import symc as sc

    t0 = clock()
    inputs, outputs = build()
    f = sc.function(inputs, outputs, backend="c")
    f(*args)
    return {"seconds": clock() - t0, "import_s": t0 - t_imp, "timings": f._loaded.timings}


def elementwise_chain(lib, x, n: int):
    """``n`` elementwise ops on ``x`` in turn: sin, multiply by a constant, add a constant."""
    y = x
    for k in range(n):
        r = k % 3
        y = lib.sin(y) if r == 0 else y * 1.0001 if r == 1 else y + 0.5
    return y


def symc_breakdown(build: Callable[[], tuple], data: Callable[[], list]) -> dict:
    """Where a cold symc compile spends its time (run in a child with an empty cache).

    ``build()`` returns ``(inputs, outputs)``: it is timed as graph building;
    ``data()`` makes the call's arguments, untimed (as in the other children).
    The fixed per-cache costs (toolchain probe, call-shim build) are timed
    apart from the kernel's own render / cc / load.
    """
    t = {}
    t0 = clock()
    import symc as sc  # noqa: F401 - import time is reported too
    from codegen.load_c import compile_and_load
    from codegen.shim import get_shim, installed
    from codegen.toolchain import get_toolchain
    from symc.config import config
    from symc.lower import lower
    from symc.rewriting.pipeline import optimize

    t["import"] = clock() - t0
    args = list(data())
    t0 = clock()
    inputs, outputs = build()
    t["graph build + grad"] = clock() - t0
    t0 = clock()
    from codegen.cache import Cache

    probe_dir = Cache(config.cache_dir)._usable_root()
    get_toolchain(probe_dir)
    t["toolchain facts (per cache; no probe)"] = clock() - t0
    t0 = clock()
    shim = get_shim(config.cache_dir)
    t["call shim (installed, else built per cache)"] = clock() - t0
    t["call shim from"] = "install" if shim is installed() else "run-time build"
    t0 = clock()
    graph = optimize(list(outputs))
    t["rewrite"] = clock() - t0
    t0 = clock()
    lowered = lower(list(inputs), graph)
    t["lower"] = clock() - t0
    loaded = compile_and_load(
        lowered.program, cache_dir=config.cache_dir, nthreads=config.num_threads, single=False
    )
    t["render"] = loaded.timings["render"]
    t["cc (build_or_fetch)"] = loaded.timings["build_or_fetch"]
    t["load (dlopen + wrap)"] = loaded.timings["load"]
    # the kernel takes shared values, then lifted constants, after the inputs
    extra = [n.op.container.value for _, n in lowered.shared]
    extra += [a for _, a in lowered.constants]
    t0 = clock()
    loaded.fn(*args, *extra)
    t["first call"] = clock() - t0
    t["source lines"] = loaded.source.count("\n")
    t["graph nodes after rewrite"] = _count_nodes(graph)
    return t


def _count_nodes(outputs) -> int:
    from symc.graph.traverse import toposort

    return len(toposort(list(outputs)))


def print_breakdown(title: str, parts: dict) -> None:
    """A two-column table of a :func:`symc_breakdown` result."""
    print(f"\n{title}\n")
    print("| step | time |")
    print("|---|---|")
    total = 0.0
    for k, v in parts.items():
        if isinstance(v, float):
            print(f"| {k} | {fmt_time(v)} |")
            total += v if k != "import" else 0.0
        else:
            print(f"| {k} | {v} |")
    print(f"| total without import | {fmt_time(total)} |")


def time_stmt(stmt: str, namespace: dict, number: int, repeat: int) -> list[float]:
    """Seconds per execution of ``stmt`` (no lambda in the timed loop), ``repeat`` runs."""
    timer = timeit.Timer(stmt, globals=namespace)
    timer.timeit(number=max(1, number // 10))
    return [t / number for t in timer.repeat(number=number, repeat=repeat)]
