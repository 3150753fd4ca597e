"""Build (once, cached) and import the fixed CPython call shim ``runtime/symc_shim.c``.

The shim is the fast path of :mod:`codegen.load_c`: a C extension that
checks NumPy arguments, allocates outputs and calls a kernel's entry
points without building a Python tuple or cffi objects. It is compiled per
Python/NumPy version through the same content-addressed cache as kernels.
When it cannot be built (no headers, no compiler) callers fall back to the
pure cffi wrapper.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import sys
import sysconfig
import warnings
from pathlib import Path

from codegen.errors import CompileError

SHIM_SOURCE = Path(__file__).parent / "runtime" / "symc_shim.c"
_MODULES: dict = {}


def shim_parts(toolchain) -> dict:
    """The cache-key parts of the shim for this interpreter, NumPy and compiler."""
    import numpy as np

    return {
        "kind": "shim",
        "source_sha256": hashlib.sha256(SHIM_SOURCE.read_bytes()).hexdigest(),
        "python": sys.version,
        "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX") or "",
        "numpy": np.__version__,
        **toolchain.key_parts(with_blas=False),
    }


def _build(toolchain, out_dir: Path) -> None:
    import numpy as np

    from codegen.toolchain import run_compiler

    includes = [sysconfig.get_paths()["include"], np.get_include()]
    cmd = [toolchain.cc, "-O2", "-fPIC", "-shared", "-std=gnu99"]
    cmd += [f"-I{d}" for d in includes]
    cmd += [str(SHIM_SOURCE), "-o", str(out_dir / "_symc_shim.so")]
    run_compiler(cmd, SHIM_SOURCE.read_text())


def get_shim(cache_dir=None):
    """The imported shim module, or None (with a warning) when it cannot be built."""
    from codegen.cache import Cache
    from codegen.toolchain import get_toolchain

    cache = Cache(cache_dir)
    memo = str(cache.root)
    if memo in _MODULES:
        return _MODULES[memo]
    module = None
    try:
        tc = get_toolchain()
        entry = cache.get(shim_parts(tc), lambda d: _build(tc, d), label="call shim")
        module = _import(entry / "_symc_shim.so")
    except (CompileError, OSError, ImportError) as exc:
        warnings.warn(
            f"symc: the fast call shim is unavailable ({exc}); using the slower cffi wrapper.",
            stacklevel=2,
        )
    _MODULES[memo] = module
    return module


def _import(path: Path):
    name = "_symc_shim"
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, str(path), loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
