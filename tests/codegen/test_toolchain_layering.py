"""Compiler errors, cheap imports and the one-way dependency rule."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from codegen.errors import CompileError
from codegen.toolchain import find_compiler, get_toolchain

REPO = Path(__file__).resolve().parents[2]


def test_missing_compiler(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc-symc")
    with pytest.raises(CompileError, match="no C compiler"):
        find_compiler()


def test_failing_compile_quotes_source(tmp_path):
    source = "int ok(void) { return 0; }\n\nint broken(void) { return undefined_name; }\n"
    with pytest.raises(CompileError) as info:
        get_toolchain().compile(source, tmp_path)
    err = info.value
    assert "undefined_name" in err.output
    assert ">    3 | int broken" in err.excerpt and "undefined_name" in str(err)


def test_codegen_never_imports_symc():
    for path in (REPO / "codegen").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] != "symc", f"{path} imports {name}"


def test_import_is_cheap(tmp_path):
    code = (
        "import sys, codegen, codegen.ir, codegen.c, codegen.cache, codegen.load_c\n"
        "heavy = {'cffi', 'filelock', 'platformdirs', 'scipy_openblas32', 'subprocess'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    env = {"SYMC_CACHE_DIR": str(tmp_path / "never"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
    assert not (tmp_path / "never").exists()
