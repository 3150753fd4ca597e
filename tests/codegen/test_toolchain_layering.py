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
        "import codegen.toolchain, codegen.shim\n"
        "heavy = {'cffi', 'filelock', 'platformdirs', 'scipy_openblas32', 'subprocess'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    env = {"SYMC_CACHE_DIR": str(tmp_path / "never"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
    assert not (tmp_path / "never").exists()


def test_compiler_facts_are_remembered_without_a_subprocess(tmp_path, monkeypatch):
    from codegen import toolchain

    monkeypatch.setattr(toolchain, "_FACTS", {})
    tc = get_toolchain(tmp_path)
    assert tc.state == "assumed" and not list(tmp_path.glob("toolchain-*.json"))
    toolchain.confirm(tc, tmp_path)
    (facts,) = tmp_path.glob("toolchain-*.json")
    assert '"state": "compiled"' in facts.read_text()
    monkeypatch.setattr(toolchain, "_FACTS", {})  # a new process

    def no_subprocess(*args, **kwargs):
        raise AssertionError("a subprocess ran")

    monkeypatch.setattr("subprocess.run", no_subprocess)
    again = get_toolchain(tmp_path)
    assert again.state == "compiled"
    assert (again.version, again.cflags, again.libs) == (tc.version, tc.cflags, tc.libs)


def test_assumed_features_that_fail_are_probed_and_dropped(tmp_path, monkeypatch):
    """A compiler whose libmvec is missing: the optimistic compile fails, the retry works."""
    import numpy as np

    from codegen import ir, toolchain
    from codegen.load_c import compile_and_load

    real = find_compiler()
    fake = tmp_path / "cc-without-mvec"
    fake.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do\n'
        '  [ "$a" = "-lmvec" ] && { echo "cannot find -lmvec" >&2; exit 1; }\n'
        "done\n"
        f'exec {real} "$@"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    monkeypatch.setattr(toolchain, "_FACTS", {})
    monkeypatch.setattr(
        toolchain, "_assumed_features", lambda: {"openmp": True, "vector_math": True}
    )
    a = ir.Buffer("a", "float64", 1)
    out = ir.Buffer("out", "float64", 1, "output", (ir.Shape(a, 0),))
    body = ir.Elementwise(
        (ir.Shape(a, 0),),
        (ir.contiguous_view(a),),
        (ir.Store(ir.contiguous_view(out), ir.Call("exp", (ir.Load(0, "float64"),))),),
    )
    program = ir.Program((a,), (out,), (), (body,))
    loaded = compile_and_load(program, cache_dir=tmp_path / "cache")
    np.testing.assert_allclose(loaded.fn(np.arange(3.0)), np.exp(np.arange(3.0)))
    assert "-lmvec" not in loaded.key_parts["flags"]
    (facts,) = (tmp_path / "cache").glob("toolchain-*.json")
    text = facts.read_text()
    assert '"state": "probed"' in text and '"vector_math": false' in text


def test_blas_flags_match_the_package_without_importing_it():
    import sys

    from codegen.toolchain import blas_flags

    flags = blas_flags()
    sob = pytest.importorskip("scipy_openblas32")
    assert flags == (
        f"-L{sob.get_lib_dir()}",
        f"-l{sob.get_library()}",
        f"-Wl,-rpath,{sob.get_lib_dir()}",
    )
    assert "scipy_openblas32" in sys.modules  # (imported by this test, not by blas_flags)
