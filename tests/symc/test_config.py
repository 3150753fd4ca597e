"""``symc.config``: SYMC_FLAGS, ``config.change``, the cache directory, unknown options."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import symc as sc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("SYMC_FLAGS", "SYMC_CACHE_DIR")}
    full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=120
    )


def test_flags_set_floatX_at_import():
    out = run_python(
        "import symc as sc; print(sc.config.floatX, sc.scalar('x').dtype, sc.vector().dtype)",
        SYMC_FLAGS="floatX=float32",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float32", "float32", "float32"]


def test_flags_several_options():
    out = run_python(
        "import symc as sc; c = sc.config; "
        "print(c.trace_rewrites, c.num_threads, c.exclude_rewrites)",
        SYMC_FLAGS="trace_rewrites=1, num_threads=4,exclude_rewrites=a:b",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True 4 ('a', 'b')"


def test_unknown_flag_fails_at_import():
    out = run_python("import symc", SYMC_FLAGS="flaotX=float32")
    assert out.returncode != 0
    assert "SymcValueError" in out.stderr and "flaotX" in out.stderr


def test_set_from_flags_errors():
    cfg = type(sc.config)()
    with pytest.raises(sc.SymcValueError, match="unknown option 'nope'"):
        cfg.set_from_flags("nope=1")
    with pytest.raises(sc.SymcValueError, match="key=value"):
        cfg.set_from_flags("floatX")
    with pytest.raises(sc.SymcValueError, match="integer"):
        cfg.set_from_flags("num_threads=many")
    with pytest.raises(sc.SymcValueError, match="boolean"):
        cfg.set_from_flags("trace_rewrites=maybe")
    with pytest.raises(sc.SymcValueError, match="floatX"):
        cfg.set_from_flags("floatX=float16")
    cfg.set_from_flags("floatX=float32,,")
    assert cfg.floatX == "float32"


def test_change_is_temporary():
    assert sc.config.floatX == "float64"
    with sc.config.change(floatX="float32"):
        assert sc.scalar("x").dtype == "float32"
        assert (sc.vector("v", dtype="int64") / 2).dtype == "float32"
    assert sc.config.floatX == "float64"
    assert sc.scalar("x").dtype == "float64"


def test_change_restores_after_an_error():
    with pytest.raises(RuntimeError):
        with sc.config.change(floatX="float32", num_threads=3):
            raise RuntimeError
    assert sc.config.floatX == "float64" and sc.config.num_threads == 1


def test_change_refuses_unknown_and_bad_values():
    with pytest.raises(sc.SymcValueError, match="unknown option 'floatx'"):
        with sc.config.change(floatx="float32"):
            pass
    with pytest.raises(sc.SymcValueError, match="backend"):
        with sc.config.change(backend="fortran"):
            pass
    assert sc.config.backend == "c"


def test_setting_an_unknown_attribute_is_refused():
    with pytest.raises(sc.SymcValueError, match="unknown option"):
        sc.config.flaotX = "float32"


def test_cache_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMC_CACHE_DIR", str(tmp_path / "a"))
    assert sc.config.cache_dir == str(tmp_path / "a")
    with sc.config.change(cache_dir=str(tmp_path / "b")):
        assert sc.config.cache_dir == str(tmp_path / "b")
    # back to following the environment, not pinned to the value seen before
    monkeypatch.setenv("SYMC_CACHE_DIR", str(tmp_path / "c"))
    assert sc.config.cache_dir == str(tmp_path / "c")
    assert not os.path.exists(tmp_path / "a")  # asking does not create it


def test_cache_dir_from_env_in_subprocess(tmp_path):
    where = tmp_path / "cache"
    out = run_python("import symc; print(symc.config.cache_dir)", SYMC_CACHE_DIR=str(where))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(where)
    assert not where.exists()


def test_cache_dir_flag(tmp_path):
    out = run_python(
        "import symc; print(symc.config.cache_dir)", SYMC_FLAGS=f"cache_dir={tmp_path}"
    )
    assert out.stdout.strip() == str(tmp_path), out.stderr


def test_default_backend_is_c_and_falls_back_without_a_compiler():
    code = (
        "import symc as sc; x = sc.vector('x'); f = sc.function([x], x * 2); "
        "print(f.backend, f([1.0, 2.0]).tolist())"
    )
    out = run_python(code, SYMC_CACHE_DIR=os.environ["SYMC_CACHE_DIR"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(maxsplit=1) == ["c", "[2.0, 4.0]\n"]
    out = run_python(code, CC="no-such-compiler-symc", SYMC_CACHE_DIR=os.environ["SYMC_CACHE_DIR"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(maxsplit=1) == ["python", "[2.0, 4.0]\n"]
    assert "no C compiler found" in out.stderr
