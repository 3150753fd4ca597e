"""The C compiler driver: find the compiler, probe its features once, compile shared libraries.

The compiler is ``$CC`` (default ``cc``). Features (OpenMP, libmvec) are
probed lazily on first use by compiling tiny programs; the results are
memoized in the process and, when a directory is given, in a small JSON
file keyed by the compiler's path and version so later processes skip the
probes. No ``-ffast-math``: results must match NumPy's IEEE semantics.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Toolchain:
    """A probed compiler. ``cflags``/``blas_flags`` are complete argument lists."""

    cc: str
    version: str
    cflags: tuple
    libs: tuple
    openmp: bool
    vector_math: bool
    blas_flags: tuple

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
    """Compile and link flags for the OpenBLAS shipped by scipy-openblas32 (rpath included)."""
    try:
        import scipy_openblas32 as sob
    except ImportError:
        return ()
    lib_dir = sob.get_lib_dir()
    return (f"-L{lib_dir}", f"-l{sob.get_library()}", f"-Wl,-rpath,{lib_dir}")


def _probe(cc: str, flags: list, source: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="symc-probe-") as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(source)
        cmd = [cc, "-O2", "-fPIC", "-shared", str(src), "-o", str(Path(tmp) / "p.so"), *flags]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return proc.returncode == 0


def _probe_features(cc: str) -> dict:
    openmp = _probe(cc, ["-fopenmp"], _PROBE_OMP)
    mvec = (
        sys.platform.startswith("linux")
        and platform.machine() in ("x86_64", "AMD64")
        and _probe(cc, ["-fopenmp-simd", "-lmvec"], _PROBE_MVEC)
    )
    return {"openmp": openmp, "vector_math": bool(mvec)}


_TOOLCHAINS: dict = {}


def _vector_isa_flags() -> list[str]:
    """``-mavx2 -mfma`` when this x86-64 CPU has both (Linux: /proc/cpuinfo), else nothing."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return ["-mavx2", "-mfma"] if {"avx2", "fma"} <= have else []
    except OSError:
        pass
    return []


def get_toolchain(
    probe_dir: Path | None = None, *, vector_math: bool | None = None, openmp: bool | None = None
) -> Toolchain:
    """The toolchain for ``$CC``, probed once per process (and per ``probe_dir``).

    ``vector_math``/``openmp`` force a feature off (or on) instead of using the probe.
    """
    cc = find_compiler()
    version = compiler_version(cc)
    memo = (cc, version)
    features = _TOOLCHAINS.get(memo)
    if features is None:
        features = _load_probe(probe_dir, cc, version)
        if features is None:
            features = _probe_features(cc)
            _save_probe(probe_dir, cc, version, features)
        _TOOLCHAINS[memo] = features
    omp = features["openmp"] if openmp is None else openmp
    mvec = features["vector_math"] if vector_math is None else vector_math
    flags, libs = list(BASE_FLAGS), ["-lm"]
    if omp:
        flags.append("-fopenmp")
    if mvec:
        flags.append("-fopenmp-simd")
        libs.insert(0, "-lmvec")
        # without AVX2 gcc calls libmvec's 2-lane SSE variants, slower than scalar
        # libm; the 4-lane AVX2 ones are about 3x faster than scalar. Read per
        # process (not from the probe file), since a cache directory may be
        # shared by machines with different CPUs; the flags are in the cache key.
        flags += _vector_isa_flags()
    return Toolchain(cc, version, tuple(flags), tuple(libs), omp, mvec, blas_flags())


def _probe_file(probe_dir: Path | None, cc: str, version: str) -> Path | None:
    if probe_dir is None:
        return None
    digest = hashlib.sha256(f"{cc}\0{version}".encode()).hexdigest()[:16]
    return Path(probe_dir) / f"toolchain-{digest}.json"


def _load_probe(probe_dir, cc, version) -> dict | None:
    path = _probe_file(probe_dir, cc, version)
    try:
        data = json.loads(path.read_text()) if path else None
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("cc") == cc and data.get("version") == version:
        return {"openmp": bool(data["openmp"]), "vector_math": bool(data["vector_math"])}
    return None


def _save_probe(probe_dir, cc, version, features) -> None:
    path = _probe_file(probe_dir, cc, version)
    if path is None:
        return
    try:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"cc": cc, "version": version, **features}))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs a probe next time
