"""Backend-neutral code generation for symc: kernel IR, C rendering, toolchain, cache, loading.

This package never imports ``symc`` and importing it is cheap: the compiler,
cffi and the cache directory are touched only on first use.

Pipeline::

    ir.Program --c.render()--> C99 source --cache.Cache.get()--> .so
               --load_c.load()--> Python callable

``codegen.compile_program(program)`` runs the whole pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codegen.errors import CodegenError, CompileError, IRError, KernelError

if TYPE_CHECKING:
    from codegen.ir import Program
    from codegen.load_c import Loaded

__all__ = ["CodegenError", "CompileError", "IRError", "KernelError", "compile_program"]

CODEGEN_VERSION = "0.1.0"


def compile_program(program: Program, *, cache_dir: Any = None, **options: Any) -> Loaded:
    """Render, compile (or fetch from the cache) and load ``program``.

    Returns a :class:`codegen.load_c.Loaded` whose ``fn`` is the callable;
    ``options`` go to :func:`codegen.load_c.compile_and_load`. ``cache_dir``
    defaults to :func:`codegen.cache.default_cache_dir`.
    """
    from codegen.load_c import compile_and_load

    return compile_and_load(program, cache_dir=cache_dir, **options)
