"""Shared fixtures: one session-wide compile cache in a temporary directory."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """A compile cache shared by the whole session (tests never write elsewhere)."""
    return tmp_path_factory.mktemp("symc-cache")


@pytest.fixture(scope="session")
def build(cache_dir):
    """``build(program, **options)`` -> the loaded callable."""
    from codegen.load_c import compile_and_load

    def _build(program, **options):
        return compile_and_load(program, cache_dir=cache_dir, **options).fn

    return _build
