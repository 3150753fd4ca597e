"""The C compiler driver: find the compiler, know its features, compile shared libraries.

The compiler is ``$CC`` (default ``cc``). What symc needs to know about it
(its version, whether OpenMP and libmvec work) is kept per process and, when
a directory is given, in a small JSON file keyed by the compiler binary's
identity (resolved path, size, mtime, inode): a later process reads it and
runs no subprocess at all.

A compiler seen for the first time is not probed up front: the features are
*assumed* (OpenMP everywhere, libmvec on x86-64 Linux) and the first real
compile confirms them. Only when a compile with unconfirmed features fails
does :func:`get_toolchain` (``reprobe=True``) run the probes, so that the
caller can retry with the flags that work. No ``-ffast-math``: results must
match NumPy's IEEE semantics.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import shutil
import sys
from pathlib import Path

from codegen.errors import CompileError

BASE_FLAGS = (
    "-O2",
    "-fPIC",
    "-shared",
    "-std=gnu99",
    "-fwrapv",
    "-fno-math-errno",
    # gnu99 lets gcc fuse a*b+c into one fma, which rounds once where NumPy
    # rounds twice: results must not depend on the target's instructions
    "-ffp-contract=off",
    "-Werror=implicit-function-declaration",
)
_PROBE_OMP = "#include <omp.h>\nint f(void) { return omp_get_max_threads(); }\n"
_PROBE_MVEC = (
    "#include <math.h>\n"
    'double exp(double) __attribute__((simd("notinbranch")));\n'
    "void f(double *x, int n) {\n#pragma omp simd\n"
    "  for (int i = 0; i < n; ++i) x[i] = exp(x[i]);\n}\n"
)


class Toolchain:
    """A compiler and its flags. ``cflags``/``blas_flags`` are complete argument lists.

    ``state`` says how its features are known: "assumed", "compiled" (a
    compile with them worked) or "probed".
    """

    __slots__ = ("cc", "version", "cflags", "libs", "openmp", "vector_math", "blas_flags", "state")

    def __init__(
        self,
        cc: str,
        version: str,
        cflags: tuple,
        libs: tuple,
        openmp: bool,
        vector_math: bool,
        blas_flags: tuple,
        state: str = "probed",
    ):
        self.cc, self.version, self.cflags, self.libs = cc, version, cflags, libs
        self.openmp, self.vector_math, self.blas_flags = openmp, vector_math, blas_flags
        self.state = state

    def __repr__(self) -> str:
        return f"Toolchain({self.cc!r}, {self.version!r}, {' '.join(self.cflags)!r}, {self.state})"

    def at_level(self, level: str) -> Toolchain:
        """This toolchain compiling at optimization ``level`` ("-O1", "-O2") instead."""
        cflags = tuple(level if f in ("-O1", "-O2", "-O3") else f for f in self.cflags)
        if cflags == self.cflags:
            return self
        return Toolchain(
            self.cc,
            self.version,
            cflags,
            self.libs,
            self.openmp,
            self.vector_math,
            self.blas_flags,
            self.state,
        )

    def key_parts(self, with_blas: bool) -> dict:
        """The parts of a cache key this toolchain contributes."""
        return {
            "compiler": self.cc,
            "compiler_version": self.version,
            "flags": " ".join(self.cflags + self.libs + (self.blas_flags if with_blas else ())),
            "machine": f"{platform.machine()}-{sys.platform}",
        }

    def compile(self, source: str, out_dir: Path, with_blas: bool = False) -> Path:
        """Compile ``source`` to ``out_dir/kernel.so``; raise CompileError with context."""
        out_dir = Path(out_dir)
        src = out_dir / "kernel.c"
        src.write_text(source)
        so = out_dir / "kernel.so"
        cmd = [self.cc, *self.cflags, str(src), "-o", str(so), *self.libs]
        if with_blas:
            cmd += list(self.blas_flags)
        run_compiler(cmd, source)
        return so


def run_compiler(cmd: list, source: str = "") -> str:
    """Run ``cmd``; return its output, or raise CompileError quoting the source near the error."""
    import subprocess

    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CompileError(f"could not run the C compiler {cmd[0]!r}: {exc}.", command=cmd) from exc
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise CompileError(
            f"the C compiler {cmd[0]!r} failed with exit status {proc.returncode}.",
            output=output,
            excerpt=source_excerpt(source, output),
            command=cmd,
        )
    return output


def source_excerpt(source: str, output: str, context: int = 3) -> str:
    """The numbered source lines around the first ``kernel.c:LINE:`` the compiler reported."""
    m = re.search(r"\.c:(\d+):", output)
    if not m or not source:
        return ""
    line = int(m.group(1))
    lines = source.splitlines()
    lo, hi = max(1, line - context), min(len(lines), line + context)
    return "\n".join(
        f"{'>' if i == line else ' '}{i:5d} | {lines[i - 1]}" for i in range(lo, hi + 1)
    )


def find_compiler() -> str:
    """The absolute path of ``$CC`` (default ``cc``); CompileError when it does not exist."""
    name = os.environ.get("CC", "cc").strip() or "cc"
    path = shutil.which(name)
    if path is None:
        raise CompileError(
            f"no C compiler: {name!r} was not found on PATH (set the CC environment variable)."
        )
    return path


@functools.lru_cache(maxsize=8)
def compiler_version(cc: str) -> str:
    """The first line of ``cc --version`` (memoized)."""
    out = run_compiler([cc, "--version"])
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def blas_flags() -> tuple:
    """Compile and link flags for the OpenBLAS shipped by scipy-openblas32 (rpath included).

    The package is located, not imported: importing it reads its metadata
    through ``importlib.metadata``, which costs tens of milliseconds.
    """
    return _blas_flags()


def blas_library() -> str | None:
    """The path of the OpenBLAS library that :func:`blas_flags` links, or None."""
    found = _blas_location()
    return None if found is None else os.path.join(*found)


@functools.lru_cache(maxsize=1)
def _blas_flags() -> tuple:
    found = _blas_location()
    if found is None:
        return ()
    lib_dir, name = found
    # libscipy_openblas.so -> -lscipy_openblas (what scipy_openblas32.get_library() says)
    lib = name[3:].split(".")[0]
    return (f"-L{lib_dir}", f"-l{lib}", f"-Wl,-rpath,{lib_dir}")


@functools.lru_cache(maxsize=1)
def _blas_location() -> tuple[str, str] | None:
    """(directory, file name) of scipy-openblas32's library, or None."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("scipy_openblas32")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    lib_dir = os.path.join(list(spec.submodule_search_locations)[0], "lib")
    try:
        names = sorted(n for n in os.listdir(lib_dir) if n.startswith("libscipy_openblas"))
    except OSError:
        return None
    return (lib_dir, names[0]) if names else None


def _probe(cc: str, flags: list, source: str) -> bool:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="symc-probe-") as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(source)
        cmd = [cc, "-O2", "-fPIC", "-shared", str(src), "-o", str(Path(tmp) / "p.so"), *flags]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return proc.returncode == 0


def _x86_linux() -> bool:
    return sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")


def _probe_features(cc: str) -> dict:
    openmp = _probe(cc, ["-fopenmp"], _PROBE_OMP)
    mvec = _x86_linux() and _probe(cc, ["-fopenmp-simd", "-lmvec"], _PROBE_MVEC)
    return {"openmp": openmp, "vector_math": bool(mvec)}


def _assumed_features() -> dict:
    """What a compiler seen for the first time is taken to support, until a compile says no."""
    return {"openmp": True, "vector_math": _x86_linux()}


#: compiler identity -> facts {"version", "openmp", "vector_math", "state"}
_FACTS: dict = {}


@functools.lru_cache(maxsize=1)
def _vector_isa_flags() -> tuple:
    """``-mavx2 -mfma`` when this x86-64 CPU has both (Linux: /proc/cpuinfo), else nothing."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return ()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return ("-mavx2", "-mfma") if {"avx2", "fma"} <= have else ()
    except OSError:
        pass
    return ()


def compiler_identity(cc: str) -> str:
    """The compiler binary's identity: resolved path, size, mtime and inode (no subprocess).

    Reinstalling or upgrading the compiler changes it, so facts recorded under
    the old identity are not reused.
    """
    real = os.path.realpath(cc)
    try:
        st = os.stat(real)
    except OSError:
        return real
    return f"{real}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def get_toolchain(
    probe_dir: Path | None = None,
    *,
    vector_math: bool | None = None,
    openmp: bool | None = None,
    reprobe: bool = False,
) -> Toolchain:
    """The toolchain for ``$CC``; its facts are read once per process (and per ``probe_dir``).

    ``vector_math``/``openmp`` force a feature off (or on) instead of using the
    facts. ``reprobe=True`` runs the feature probes now, unless they already
    ran for this compiler (a caller does so after a compile with assumed
    features failed).
    """
    cc = find_compiler()
    ident = compiler_identity(cc)
    facts = _FACTS.get(ident)
    if facts is None:
        facts = _load_facts(probe_dir, ident)
    if facts is None:
        facts = {"version": compiler_version(cc), **_assumed_features(), "state": "assumed"}
    if reprobe and facts["state"] != "probed":
        facts = {**facts, **_probe_features(cc), "state": "probed"}
        _save_facts(probe_dir, ident, facts)
    _FACTS[ident] = facts
    omp = facts["openmp"] if openmp is None else openmp
    mvec = facts["vector_math"] if vector_math is None else vector_math
    flags, libs = list(BASE_FLAGS), ["-lm"]
    if omp:
        flags.append("-fopenmp")
    if mvec:
        flags.append("-fopenmp-simd")
        libs.insert(0, "-lmvec")
        # without AVX2 gcc calls libmvec's 2-lane SSE variants, slower than scalar
        # libm; the 4-lane AVX2 ones are about 3x faster than scalar. Read per
        # process (not from the facts file), since a cache directory may be
        # shared by machines with different CPUs; the flags are in the cache key.
        flags += _vector_isa_flags()
    return Toolchain(
        cc, facts["version"], tuple(flags), tuple(libs), omp, mvec, blas_flags(), facts["state"]
    )


def confirm(toolchain: Toolchain, probe_dir: Path | None) -> None:
    """Record that a compile with ``toolchain``'s assumed features worked.

    Only a toolchain that used the facts as they are (no feature forced off)
    confirms them; later processes then read the facts instead of assuming.
    """
    ident = compiler_identity(toolchain.cc)
    facts = _FACTS.get(ident)
    if facts is None or facts["state"] != "assumed":
        return
    if (toolchain.openmp, toolchain.vector_math) != (facts["openmp"], facts["vector_math"]):
        return
    facts = {**facts, "state": "compiled"}
    _FACTS[ident] = facts
    _save_facts(probe_dir, ident, facts)


def _facts_file(probe_dir: Path | None, ident: str) -> Path | None:
    if probe_dir is None:
        return None
    digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
    return Path(probe_dir) / f"toolchain-{digest}.json"


def _load_facts(probe_dir, ident: str) -> dict | None:
    path = _facts_file(probe_dir, ident)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
        if data.get("identity") != ident or data.get("state") not in ("compiled", "probed"):
            return None
        return {
            "version": str(data["version"]),
            "openmp": bool(data["openmp"]),
            "vector_math": bool(data["vector_math"]),
            "state": data["state"],
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # unreadable or foreign: assume again (a compile will confirm)


def _save_facts(probe_dir, ident: str, facts: dict) -> None:
    path = _facts_file(probe_dir, ident)
    if path is None:
        return
    try:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"identity": ident, **facts}))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs a confirmation (or a probe) next time
