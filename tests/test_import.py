"""``import symc`` stays cheap: no heavy modules, no directories, NumPy on first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEAVY = ["sympy", "mpmath", "scipy", "cffi.recompiler", "setuptools", "distutils", "pycuda"]

PROBE = """
import json, os, sys
before = set(sys.modules)
import symc
after_import = sorted(set(sys.modules) - before)
x = symc.vector("x")
f = symc.function([x], symc.sum(symc.exp(x)) * 2, backend="python")
f([1.0, 2.0])
after_use = sorted(set(sys.modules) - before)
print(json.dumps({"import": after_import, "use": after_use}))
"""


def _probe(code: str, home, cwd) -> dict:
    """Run ``code`` in a fresh interpreter (no SYMC_ settings, ``home`` as HOME): its JSON line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMC_")}
    env.update(
        PYTHONPATH=ROOT,
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _run(tmp_path) -> dict:
    home = tmp_path / "home"
    home.mkdir()
    result = _probe(PROBE, home, tmp_path)
    result["created"] = sorted(os.listdir(tmp_path))
    result["home"] = sorted(os.listdir(home))
    return result


def _loaded(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_import_is_light(tmp_path):
    result = _run(tmp_path)
    for name in HEAVY + ["numpy"]:
        assert not _loaded(result["import"], name), f"import symc loaded {name}"
    # first use loads NumPy, but still none of the heavy machinery
    assert _loaded(result["use"], "numpy")
    for name in HEAVY:
        assert not _loaded(result["use"], name), f"building and calling loaded {name}"


def test_import_creates_no_directory(tmp_path):
    result = _run(tmp_path)
    assert result["created"] == ["home"]
    assert result["home"] == []


def test_public_functions_are_not_hidden_by_submodules():
    # importing a submodule sets an attribute on the package: none may share a public name
    import importlib
    import pkgutil

    import symc

    for info in pkgutil.walk_packages(symc.__path__, "symc."):
        importlib.import_module(info.name)
    for name in ("grad", "function", "rewrite", "scan", "dprint"):
        value = getattr(symc, name, None)
        assert value is None or callable(value) and not isinstance(value, type(symc)), name


GRAD_PROBE = """
import json, sys
import symc as sc
x = sc.vector("x")
g = sc.grad(sc.sum(sc.log(1 + sc.exp(x))), x)
print(json.dumps({"modules": sorted(sys.modules), "grad": repr(g.type)}))
"""


def test_grad_of_a_loop_free_cost_skips_the_loop_and_fusion_rules(tmp_path):
    # grad stabilizes its cost first; without a scan in the process the loop
    # rules have nothing to rewrite, and fusion is not a stabilizing phase
    modules = _probe(GRAD_PROBE, tmp_path, tmp_path)["modules"]
    assert "symc.rewriting.stabilize" in modules  # the probe did stabilize
    for name in ("symc.ops.scan", "symc.rewriting.scan_rules", "symc.rewriting.fuse"):
        assert name not in modules, f"grad of a loop-free cost imported {name}"
