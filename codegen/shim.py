"""The fixed CPython call shim ``runtime/symc_shim.c``: installed, or built once and cached.

The shim is the fast path of :mod:`codegen.load_c`: a C extension that
checks NumPy arguments, allocates outputs and calls a kernel's entry
points without building a Python tuple or cffi objects.

Where it comes from, in order:

1. ``codegen._symc_shim``, built when the package is installed (``setup.py``).
   It is used only if it imports (it was built for this Python and a
   compatible NumPy) and its ``source_sha256`` equals the hash of the
   ``symc_shim.c`` beside this file, so a checkout whose shim source changed
   after the install never runs a stale build.
2. A build through the content-addressed cache, keyed per Python, NumPy,
   compiler and source: once per cache directory. :func:`start` begins that
   build in a background thread so that it overlaps the kernel's compile.

When neither works (no headers, no compiler) callers fall back to the pure
cffi wrapper, with a warning.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import sys
import threading
import warnings
from pathlib import Path

SHIM_SOURCE = Path(__file__).parent / "runtime" / "symc_shim.c"
INSTALLED = "codegen._symc_shim"
_MODULES: dict = {}  # cache root -> module (None: unavailable)
_PENDING: dict = {}  # cache root -> (thread, result) of a build in progress
_INSTALLED: list = []  # [module or None] once looked up
_LOCK = threading.Lock()


def source_sha256() -> str:
    """The hex SHA-256 of ``runtime/symc_shim.c`` as it is now."""
    return hashlib.sha256(SHIM_SOURCE.read_bytes()).hexdigest()


def shim_parts(toolchain) -> dict:
    """The cache-key parts of the shim for this interpreter, NumPy and compiler."""
    import numpy as np

    return {
        "kind": "shim",
        "source_sha256": source_sha256(),
        "python": sys.version,
        # the ABI tag; sysconfig's EXT_SUFFIX would load its large config module
        "ext_suffix": importlib.machinery.EXTENSION_SUFFIXES[0],
        "numpy": np.__version__,
        **toolchain.key_parts(with_blas=False),
    }


def build_command(cc: str, output: Path) -> list:
    """The compiler command that builds the shim extension at ``output``."""
    import sysconfig

    import numpy as np

    includes = [sysconfig.get_paths()["include"], np.get_include()]
    cmd = [cc, "-O2", "-fPIC", "-shared", "-std=gnu99"]
    cmd += [f"-I{d}" for d in includes]
    cmd += [f'-DSYMC_SHIM_SHA256="{source_sha256()}"']
    return cmd + [str(SHIM_SOURCE), "-o", str(output)]


def _build(toolchain, out_dir: Path) -> None:
    from codegen.toolchain import run_compiler

    cmd = build_command(toolchain.cc, out_dir / "_symc_shim.so")
    run_compiler(cmd, SHIM_SOURCE.read_text())


def installed():
    """The shim built at install time, or None when it is absent, unloadable or stale."""
    import importlib

    try:
        module = importlib.import_module(INSTALLED)
    except ImportError:
        return None
    try:
        current = source_sha256()
    except OSError:
        return module  # no source shipped to compare with: trust the install
    if getattr(module, "source_sha256", None) != current:
        return None  # built from another version of symc_shim.c
    return module


def start(cache_dir=None) -> None:
    """Make the shim available, building it in a background thread if it must be built.

    A later :func:`get_shim` with the same ``cache_dir`` waits for that build.
    """
    from codegen.cache import Cache

    memo = str(Cache(cache_dir).root)
    with _LOCK:
        if memo in _MODULES or memo in _PENDING:
            return
        if not _INSTALLED:
            _INSTALLED.append(installed())
        module = _INSTALLED[0]
        if module is not None:
            _MODULES[memo] = module
            return
        built = _cached_entry(cache_dir)
        if built is not None:  # built by an earlier process: no thread needed
            _MODULES[memo] = _import_result({"entry": built})
            return
        result: dict = {}
        thread = threading.Thread(
            target=_cached_build, args=(cache_dir, result), name="symc-shim-build", daemon=True
        )
        _PENDING[memo] = (thread, result)
        thread.start()


def get_shim(cache_dir=None):
    """The imported shim module, or None (with a warning) when it cannot be had."""
    from codegen.cache import Cache

    memo = str(Cache(cache_dir).root)
    module = _MODULES.get(memo)
    if module is not None or memo in _MODULES:
        return module
    start(cache_dir)
    with _LOCK:
        pending = _PENDING.get(memo)
    if pending is not None:
        thread, result = pending
        thread.join()
        with _LOCK:
            _PENDING.pop(memo, None)
            if memo not in _MODULES:
                _MODULES[memo] = _import_result(result)
    return _MODULES.get(memo)


def _cached_entry(cache_dir) -> Path | None:
    """The shim's intact cache entry, if an earlier process built it."""
    from codegen.cache import Cache
    from codegen.toolchain import get_toolchain

    try:
        cache = Cache(cache_dir)
        return cache.lookup(shim_parts(get_toolchain(cache._usable_root())))
    except Exception:  # noqa: BLE001 - the build path will say what is wrong
        return None


def _cached_build(cache_dir, result: dict) -> None:
    """Build (or fetch) the shim through the cache; runs in a background thread."""
    from codegen.cache import Cache
    from codegen.toolchain import get_toolchain

    try:
        cache = Cache(cache_dir)
        tc = get_toolchain(cache._usable_root())
        result["entry"] = cache.get(shim_parts(tc), lambda d: _build(tc, d), label="call shim")
    except Exception as exc:  # noqa: BLE001 - reported (as a warning) by get_shim
        result["error"] = exc


def _import_result(result: dict):
    exc = result.get("error")
    if exc is None:
        try:
            return _import(result["entry"] / "_symc_shim.so")
        except (ImportError, OSError, KeyError) as err:
            exc = err
    warnings.warn(
        f"symc: the fast call shim is unavailable ({exc}); using the slower cffi wrapper.",
        stacklevel=4,
    )
    return None


def _import(path: Path):
    import importlib.machinery
    import importlib.util

    name = "_symc_shim"
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, str(path), loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
