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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codegen import abi
from codegen.errors import CodegenError, KernelError

GIL_THRESHOLD = 1 << 14  # elements; below this, releasing the GIL costs more than it frees
_CDEF = """
int32_t {p}_abi_version(void);
int32_t {p}_shapes(void *const *data, const int64_t *in_shapes, int64_t *out_shapes);
int32_t {p}_run(void *const *data, const int64_t *shapes, const int64_t *strides,
                int32_t nthreads);
"""
_LOADED: dict = {}


@dataclass(frozen=True)
class Signature:
    """The (dtype, ndim) of each input and output, in the program's order."""

    inputs: tuple
    outputs: tuple
    check_messages: tuple = ()

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
) -> Callable:
    """Open ``so_path`` and return a callable running its program.

    Args:
        so_path: a shared library rendered by :func:`codegen.c.render`.
        signature: dtypes and ndims of inputs and outputs.
        prefix: the prefix its entry points were rendered with.
        nthreads: passed to ``P_run`` (0: OpenMP's default).
        single: return a lone output bare instead of in a list.
        fast: use the C shim when it can be built (the shim is cached in ``cache_dir``).
        on_error: called with a nonzero status; must raise (default: KernelError).
    """
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(_CDEF.format(p=prefix))
    lib = ffi.dlopen(str(so_path))
    version = getattr(lib, f"{prefix}_abi_version")()
    if version != abi.ABI_VERSION:
        raise CodegenError(f"{so_path} has ABI version {version}, expected {abi.ABI_VERSION}.")
    run = getattr(lib, f"{prefix}_run")
    shapes = getattr(lib, f"{prefix}_shapes")
    if on_error is None:

        def on_error(code: int, _checks=signature.check_messages) -> None:
            raise_status(code, _checks)

    shim = None
    if fast:
        from codegen.shim import get_shim

        shim = get_shim(cache_dir)
    if shim is not None:
        import numpy as np

        return shim.Kernel(
            int(ffi.cast("uintptr_t", run)),
            int(ffi.cast("uintptr_t", shapes)),
            [np.dtype(d).num for d, _ in signature.inputs],
            [n for _, n in signature.inputs],
            [np.dtype(d).num for d, _ in signature.outputs],
            [n for _, n in signature.outputs],
            (ffi, lib),
            on_error,
            int(nthreads),
            int(bool(single)),
            GIL_THRESHOLD,
        )
    return CffiKernel(ffi, lib, run, shapes, signature, nthreads, single, on_error)


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
        outs = []
        for dtype, ndim in self.signature.outputs:
            shape = tuple(shapes[pos + d] for d in range(ndim))
            o = np.empty(shape, dtype)
            for d in range(ndim):
                strides[pos + d] = o.strides[d] // o.itemsize
            pos += ndim
            outs.append(o)
        for k, a in enumerate(outs, start=len(arrays)):
            data[k] = ffi.cast("void *", a.__array_interface__["data"][0])
        status = self.run(data, shapes, strides, self.nthreads)
        if status:
            self.on_error(status)
        return outs[0] if self.single and len(outs) == 1 else outs


@dataclass
class Loaded:
    """A compiled, loaded program: ``fn`` is the callable; the rest explains where it came from."""

    fn: Callable
    source: str
    path: Path
    key_parts: dict
    timings: dict = field(default_factory=dict)


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
    """Render, compile through the cache and load ``program`` (memoized per process)."""
    from codegen import CODEGEN_VERSION
    from codegen.c import DEFAULT_PARALLEL_THRESHOLD, render
    from codegen.cache import Cache
    from codegen.ir import Gemm
    from codegen.toolchain import get_toolchain

    threshold = DEFAULT_PARALLEL_THRESHOLD if parallel_threshold is None else parallel_threshold
    memo = (program, str(cache_dir), prefix, vector_math, nthreads, single, fast, threshold)
    hit = _LOADED.get(memo)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    cache = Cache(cache_dir)
    probe_dir = cache._usable_root()  # first use: creates the directory (0700)
    tc = get_toolchain(probe_dir, vector_math=False if vector_math is False else None)
    source = render(
        program, prefix=prefix, vector_math=tc.vector_math, parallel_threshold=threshold
    )
    with_blas = any(isinstance(s, Gemm) for s in program.body)
    parts = {
        "kind": "kernel",
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "abi_version": str(abi.ABI_VERSION),
        "codegen_version": CODEGEN_VERSION,
        **tc.key_parts(with_blas),
    }
    t1 = time.perf_counter()
    entry = cache.get(
        parts,
        lambda d: tc.compile(source, d, with_blas),
        label=", ".join(b.name for b in program.outputs)[:80],
    )
    t2 = time.perf_counter()
    fn = load(
        entry / "kernel.so",
        Signature.from_program(program),
        prefix=prefix,
        nthreads=nthreads,
        single=single,
        fast=fast,
        cache_dir=cache_dir,
    )
    t3 = time.perf_counter()
    loaded = Loaded(
        fn,
        source,
        entry / "kernel.so",
        parts,
        {"render": t1 - t0, "build_or_fetch": t2 - t1, "load": t3 - t2},
    )
    _LOADED[memo] = loaded
    return loaded
