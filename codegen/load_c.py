"""Load a compiled program with cffi (ABI mode) and expose it as a Python callable.

Two call paths share one contract: ``fn(*arrays)`` returns the outputs
(the array itself when there is one output and ``single=True``, else a
list), checking argument count, dtype and ndim, converting other objects
with NumPy's *safe* casting, and allocating C-contiguous outputs.

* fast (default): the fixed C shim of :mod:`codegen.shim` calls the entry
  points through their addresses (well under a microsecond per call);
* fallback: a pure-Python cffi wrapper, used when the shim cannot be built.

Example::

    from codegen.load_c import compile_and_load
    loaded = compile_and_load(program, cache_dir=tmp)
    out = loaded.fn(a, b)
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from codegen import abi
from codegen.errors import CodegenError, KernelError

GIL_THRESHOLD = 1 << 14  # elements; below this, releasing the GIL costs more than it frees
_CDEF = """
int32_t {p}_abi_version(void);
int32_t {p}_shapes(void *const *data, const int64_t *in_shapes, int64_t *out_shapes);
int32_t {p}_run(void *const *data, int64_t *shapes, const int64_t *strides,
                int32_t nthreads);
"""
_LOADED: dict = {}


class Signature:
    """The (dtype, ndim) of each input and output, in the program's order.

    A plain class, not a dataclass: this module is on the path of every
    process that loads a cached function, and a dataclass costs milliseconds
    to define.
    """

    __slots__ = ("inputs", "outputs", "check_messages")

    def __init__(self, inputs: tuple, outputs: tuple, check_messages: tuple = ()):
        self.inputs, self.outputs, self.check_messages = inputs, outputs, check_messages

    def _astuple(self) -> tuple:
        return (self.inputs, self.outputs, self.check_messages)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Signature) and self._astuple() == other._astuple()

    def __hash__(self) -> int:
        return hash(self._astuple())

    def __repr__(self) -> str:
        return f"Signature(inputs={self.inputs!r}, outputs={self.outputs!r})"

    @classmethod
    def from_program(cls, program) -> Signature:
        """The signature of a :class:`codegen.ir.Program`."""
        return cls(
            tuple((b.dtype, b.ndim) for b in program.inputs),
            tuple((b.dtype, b.ndim) for b in program.outputs),
            tuple(c.message for c in program.checks),
        )


def raise_status(code: int, checks: tuple = ()) -> None:
    """Raise the :class:`KernelError` for a nonzero status ``code``."""
    raise KernelError(code, abi.message(code, checks))


def load(
    so_path: Path | str,
    signature: Signature,
    *,
    prefix: str = "symc",
    nthreads: int = 0,
    single: bool = True,
    fast: bool = True,
    cache_dir: Any = None,
    on_error: Callable[[int], None] | None = None,
    link_first: Sequence[str] = (),
) -> Callable:
    """Open ``so_path`` and return a callable running its program.

    Args:
        so_path: a shared library rendered by :func:`codegen.c.render`.
        signature: dtypes and ndims of inputs and outputs.
        prefix: the prefix its entry points were rendered with.
        nthreads: passed to ``P_run`` (0: OpenMP's default).
        single: return a lone output bare instead of in a list.
        fast: use the C shim when it can be had (a built one is cached in ``cache_dir``).
        on_error: called with a nonzero status; must raise (default: KernelError).
        link_first: paths of libraries ``so_path`` links, opened first with
            lazy binding (see :func:`_open_lazily`).
    """
    for path in link_first:
        _open_lazily(path)
    if on_error is None:

        def on_error(code: int, _checks=signature.check_messages) -> None:
            raise_status(code, _checks)

    shim = None
    if fast:
        from codegen.shim import get_shim

        shim = get_shim(cache_dir)
    if shim is not None:
        # ctypes (loaded with NumPy already) finds the entry points; cffi's C
        # parser would cost tens of milliseconds per process
        import ctypes

        import numpy as np

        lib = ctypes.CDLL(str(so_path))
        _check_abi(so_path, getattr(lib, f"{prefix}_abi_version"))
        return shim.Kernel(
            ctypes.cast(getattr(lib, f"{prefix}_run"), ctypes.c_void_p).value,
            ctypes.cast(getattr(lib, f"{prefix}_shapes"), ctypes.c_void_p).value,
            [np.dtype(d).num for d, _ in signature.inputs],
            [n for _, n in signature.inputs],
            [np.dtype(d).num for d, _ in signature.outputs],
            [n for _, n in signature.outputs],
            lib,
            on_error,
            int(nthreads),
            int(bool(single)),
            GIL_THRESHOLD,
        )
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(_CDEF.format(p=prefix))
    lib = ffi.dlopen(str(so_path))
    _check_abi(so_path, getattr(lib, f"{prefix}_abi_version"))
    run = getattr(lib, f"{prefix}_run")
    shapes = getattr(lib, f"{prefix}_shapes")
    return CffiKernel(ffi, lib, run, shapes, signature, nthreads, single, on_error)


_OPENED: dict = {}  # path -> handle of a library opened by _open_lazily (kept open)


def _open_lazily(path: str) -> None:
    """Open a library a kernel links, binding its symbols on first use, once per process.

    A kernel is opened with ``RTLD_NOW`` (ctypes' and cffi's mode), so that a
    symbol it lacks fails the load, not a later call; but the mode extends to
    the libraries loaded with it, and binding all of OpenBLAS's symbols up
    front was about 0.7 of a warm process's 1.9 ms ``dlopen``. Opened first,
    lazily (as ld.so opens a program's own libraries), it is only found
    already loaded by the kernel's ``dlopen``. A failure here is left for
    that ``dlopen`` to report.
    """
    if path in _OPENED:
        return
    import ctypes

    try:
        _OPENED[path] = ctypes.CDLL(path, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
    except OSError:
        _OPENED[path] = None


def _check_abi(so_path, abi_version) -> None:
    version = abi_version()  # an int32_t: ctypes' default (C int) result type reads it
    if version != abi.ABI_VERSION:
        raise CodegenError(f"{so_path} has ABI version {version}, expected {abi.ABI_VERSION}.")


class CffiKernel:
    """The pure-Python call path (slower; used when the C shim is unavailable)."""

    def __init__(self, ffi, lib, run, shapes, signature: Signature, nthreads, single, on_error):
        import numpy as np

        self._np = np
        self.ffi, self.lib, self.run, self.shapes = ffi, lib, run, shapes
        self.signature = signature
        self.in_dtypes = [np.dtype(d) for d, _ in signature.inputs]
        self.nthreads, self.single, self.on_error = nthreads, single, on_error
        self.in_dims = sum(n for _, n in signature.inputs)
        self.all_dims = self.in_dims + sum(n for _, n in signature.outputs)

    def _arg(self, i: int, x):
        np = self._np
        dtype, ndim = self.in_dtypes[i], self.signature.inputs[i][1]
        a = x if isinstance(x, np.ndarray) else np.asarray(x)
        if a.dtype != dtype:
            if not np.can_cast(a.dtype, dtype, "safe") and isinstance(x, np.ndarray):
                raise TypeError(f"argument {i} has dtype {a.dtype}, expected {dtype}.")
            a = a.astype(dtype)
        if a.ndim != ndim:
            raise ValueError(f"argument {i} must have {ndim} dimensions, got {a.ndim}")
        if not a.flags.aligned or any(s % a.itemsize for s in a.strides):
            a = np.ascontiguousarray(a)
        return a

    def __call__(self, *args):
        np, ffi = self._np, self.ffi
        if len(args) != len(self.in_dtypes):
            raise TypeError(f"expected {len(self.in_dtypes)} arguments, got {len(args)}")
        arrays = [self._arg(i, x) for i, x in enumerate(args)]
        shapes = ffi.new("int64_t[]", max(self.all_dims, 1))
        strides = ffi.new("int64_t[]", max(self.all_dims, 1))
        pos = 0
        for a in arrays:
            for n, s in zip(a.shape, a.strides, strict=False):
                shapes[pos], strides[pos] = n, s // a.itemsize
                pos += 1
        data = ffi.new("void *[]", max(len(arrays) + len(self.signature.outputs), 1))
        for k, a in enumerate(arrays):
            data[k] = ffi.cast("void *", a.__array_interface__["data"][0])
        status = self.shapes(data, shapes, shapes + self.in_dims)
        if status:
            self.on_error(status)
        outs, row_at = [], []
        for dtype, ndim in self.signature.outputs:
            shape = tuple(shapes[pos + d] for d in range(ndim))
            o = np.empty(shape, dtype)
            for d in range(ndim):
                strides[pos + d] = o.strides[d] // o.itemsize
            row_at.append(pos)
            pos += ndim
            outs.append(o)
        for k, a in enumerate(outs, start=len(arrays)):
            data[k] = ffi.cast("void *", a.__array_interface__["data"][0])
        status = self.run(data, shapes, strides, self.nthreads)
        if status:
            self.on_error(status)
        for o, at in zip(outs, row_at, strict=True):
            # a loop that stopped early filled fewer rows than allocated (codegen.abi)
            if o.ndim and shapes[at] != o.shape[0]:
                rows = shapes[at]
                if not 0 <= rows <= o.shape[0]:
                    raise RuntimeError(f"compiled kernel reported {rows} rows of {o.shape[0]}")
                o.resize((rows, *o.shape[1:]), refcheck=False)
        return outs[0] if self.single and len(outs) == 1 else outs


class Loaded:
    """A compiled, loaded program: ``fn`` is the callable; the rest explains where it came from.

    ``source`` is read from the cache entry's ``kernel.c`` when it was not kept
    in memory (a process that found the program in the cache never renders it).
    """

    def __init__(
        self,
        fn: Callable,
        source: str | None,
        path: Path,
        key_parts: dict,
        timings=None,
        link_first: Sequence[str] = (),
    ):
        self.fn, self._source, self.path, self.key_parts = fn, source, path, key_parts
        self.timings = {} if timings is None else timings
        self.link_first = tuple(link_first)  # what ``load`` opened lazily first

    @property
    def source(self) -> str:
        """The C translation unit the library was compiled from."""
        if self._source is None:
            try:
                self._source = (Path(self.path).parent / "kernel.c").read_text()
            except OSError:
                self._source = ""
        return self._source


def kernel_parts(source: str, toolchain, with_blas: bool) -> dict:
    """The cache-key parts of a kernel compiled from ``source`` by ``toolchain``."""
    from codegen import CODEGEN_VERSION

    return {
        "kind": "kernel",
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "abi_version": str(abi.ABI_VERSION),
        "codegen_version": CODEGEN_VERSION,
        **toolchain.key_parts(with_blas),
    }


def compile_and_load(
    program,
    *,
    cache_dir: Any = None,
    prefix: str = "symc",
    vector_math: bool | None = None,
    nthreads: int = 0,
    single: bool = True,
    fast: bool = True,
    parallel_threshold: int | None = None,
) -> Loaded:
    """Render, compile through the cache and load ``program`` (memoized per process).

    The call shim, when it must be built, builds in the background meanwhile.
    A compiler seen for the first time is assumed to support OpenMP and
    libmvec; if the compile with those flags fails, the features are probed
    and the program is rendered and compiled again with the flags that work.
    """
    from codegen.c import DEFAULT_PARALLEL_THRESHOLD
    from codegen.cache import Cache
    from codegen.errors import CompileError
    from codegen.toolchain import blas_library, confirm, get_toolchain

    threshold = DEFAULT_PARALLEL_THRESHOLD if parallel_threshold is None else parallel_threshold
    memo = (program, str(cache_dir), prefix, vector_math, nthreads, single, fast, threshold)
    hit = _LOADED.get(memo)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    if fast:
        from codegen import shim

        shim.start(cache_dir)
    cache = Cache(cache_dir)
    probe_dir = cache._usable_root()  # first use: creates the directory (0700)
    force_mvec = False if vector_math is False else None
    tc = get_toolchain(probe_dir, vector_math=force_mvec)
    timings: dict = {}
    try:
        source, parts, entry, with_blas = _build(program, cache, tc, prefix, threshold, timings)
    except CompileError:
        if tc.state == "probed":
            raise
        # the assumed features may be what failed: probe, and retry if the flags change
        retry = get_toolchain(probe_dir, vector_math=force_mvec, reprobe=True)
        if (retry.cflags, retry.libs) == (tc.cflags, tc.libs):
            raise
        tc = retry
        source, parts, entry, with_blas = _build(program, cache, tc, prefix, threshold, timings)
    confirm(tc, probe_dir)
    t2 = time.perf_counter()
    blas = blas_library() if with_blas else None
    link_first = () if blas is None else (blas,)
    fn = load(
        entry / "kernel.so",
        Signature.from_program(program),
        prefix=prefix,
        nthreads=nthreads,
        single=single,
        fast=fast,
        cache_dir=cache_dir,
        link_first=link_first,
    )
    t3 = time.perf_counter()
    timings["load"] = t3 - t2
    timings["total"] = t3 - t0
    loaded = Loaded(fn, source, entry / "kernel.so", parts, timings, link_first)
    _LOADED[memo] = loaded
    return loaded


def _build(program, cache, tc, prefix: str, threshold: int, timings: dict):
    """Render ``program`` for ``tc`` and fetch or compile it.

    Returns (source, key parts, entry dir, whether it links BLAS).
    """
    from codegen.c import opt_level, render
    from codegen.ir import Gemm

    t0 = time.perf_counter()
    source = render(
        program, prefix=prefix, vector_math=tc.vector_math, parallel_threshold=threshold
    )
    tc = tc.at_level(opt_level(program))
    # a Gemm nested in another statement (a loop body) needs BLAS too
    with_blas = any(isinstance(s, Gemm) for s in program.body) or "cblas_" in source
    parts = kernel_parts(source, tc, with_blas)
    t1 = time.perf_counter()
    entry = cache.get(
        parts,
        lambda d: tc.compile(source, d, with_blas),
        label=", ".join(b.name for b in program.outputs)[:80],
    )
    timings["render"] = t1 - t0
    timings["build_or_fetch"] = time.perf_counter() - t1
    return source, parts, entry, with_blas
