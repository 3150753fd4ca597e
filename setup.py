"""Builds the fixed call shim (``codegen/runtime/symc_shim.c``) as ``codegen._symc_shim``.

Everything else is declared in ``pyproject.toml``. Building the shim at
install time takes its compile (about half a second) off a user's first
``backend="c"`` function. The build is optional: without a compiler or
NumPy's headers the install still succeeds, and symc builds the shim at run
time instead (``codegen/shim.py``), as it also does when the installed one is
stale (built from another version of the source).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCE = Path("codegen") / "runtime" / "symc_shim.c"


class OptionalBuildExt(build_ext):
    """``build_ext`` that warns instead of failing: the shim has a run-time fallback."""

    def finalize_options(self):
        super().finalize_options()
        try:
            import numpy as np
        except ImportError:
            return
        for ext in self.extensions:
            ext.include_dirs.append(np.get_include())

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any failure: build at run time instead
            print(f"warning: not building the symc call shim ({exc}); built on first use instead")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"warning: not building {ext.name} ({exc}); built on first use instead")


shim = Extension(
    "codegen._symc_shim",
    sources=[str(SOURCE)],
    define_macros=[("SYMC_SHIM_SHA256", f'"{hashlib.sha256(SOURCE.read_bytes()).hexdigest()}"')],
    extra_compile_args=["-std=gnu99", "-O2"],
    optional=True,
)

setup(ext_modules=[shim], cmdclass={"build_ext": OptionalBuildExt})
