"""Shared fixtures: a private cache directory and the list of backends every op test runs on."""

from __future__ import annotations

import os

import pytest

#: every op/gradient test runs once per backend; a new backend is added here
BACKENDS = ["python"]


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """Compiled code goes to a temporary directory, never the user's cache."""
    path = tmp_path_factory.mktemp("symc-cache")
    old = os.environ.get("SYMC_CACHE_DIR")
    os.environ["SYMC_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("SYMC_CACHE_DIR", None)
    else:
        os.environ["SYMC_CACHE_DIR"] = old


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The backend name to pass to ``sc.function(..., backend=backend)``."""
    return request.param
