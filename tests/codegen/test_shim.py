"""Where the call shim comes from: the installed extension, else a cached build."""

from __future__ import annotations

import pytest

from codegen import shim
from codegen.cache import Cache


@pytest.fixture
def fresh_shim_state(monkeypatch):
    """Forget which shims this process found, restoring them afterwards."""
    monkeypatch.setattr(shim, "_MODULES", {})
    monkeypatch.setattr(shim, "_PENDING", {})
    monkeypatch.setattr(shim, "_INSTALLED", [])


def test_a_stale_installed_shim_is_refused(monkeypatch):
    monkeypatch.setattr(shim, "source_sha256", lambda: "0" * 64)
    assert shim.installed() is None


def test_the_installed_shim_needs_no_build(tmp_path, fresh_shim_state):
    module = shim.installed()
    if module is None:
        pytest.skip("the shim was not built at install time (python setup.py build_ext -i)")
    assert module.source_sha256 == shim.source_sha256()
    assert shim.get_shim(tmp_path) is module
    assert Cache(tmp_path).list_entries() == []


def test_the_fallback_builds_once_per_cache_in_the_background(
    tmp_path, monkeypatch, fresh_shim_state
):
    from codegen.toolchain import find_compiler

    try:
        find_compiler()
    except Exception:
        pytest.skip("no C compiler")
    monkeypatch.setattr(shim, "installed", lambda: None)
    shim.start(tmp_path)
    module = shim.get_shim(tmp_path)
    assert module is not None and hasattr(module, "Kernel")
    assert module.source_sha256 == shim.source_sha256()
    (entry,) = Cache(tmp_path).list_entries()
    assert entry["label"] == "call shim"
    monkeypatch.setattr(shim, "_MODULES", {})  # a new process finds the build in the cache
    assert shim.get_shim(tmp_path) is not None
    assert len(Cache(tmp_path).list_entries()) == 1
