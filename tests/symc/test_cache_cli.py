"""``python -m symc cache ...`` on a private cache directory."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import symc as sc
from symc.__main__ import main


@pytest.fixture
def filled(tmp_path):
    from codegen.toolchain import find_compiler

    try:
        find_compiler()
    except Exception:
        pytest.skip("no C compiler")
    x = sc.vector("x")
    with sc.config.change(cache_dir=str(tmp_path)):
        f = sc.function([x], sc.exp(x) * 3 + x, backend="c")
        np.testing.assert_allclose(f(np.ones(2)), np.exp(1) * 3 + 1)
    return tmp_path


def test_info_list_prune_clear(filled, capsys):
    assert main(["cache", "info", "--dir", str(filled)]) == 0
    out = capsys.readouterr().out
    assert str(filled) in out
    n = int(next(line for line in out.splitlines() if line.startswith("entries")).split()[1])
    assert n >= 1  # the kernel (and the call shim)
    assert main(["cache", "list", "--dir", str(filled)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == n + 1
    assert main(["cache", "prune", "--dir", str(filled), "--max-bytes", "0"]) == 0
    assert f"removed {n} entr" in capsys.readouterr().out
    assert main(["cache", "clear", "--dir", str(filled)]) == 0
    assert "removed 0 entries" in capsys.readouterr().out
    assert main(["cache", "list", "--dir", str(filled)]) == 0
    assert "empty" in capsys.readouterr().out


def test_module_entry_point_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "symc", "cache", "info", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "entries:  0" in proc.stdout


def test_unknown_action_is_refused(capsys):
    with pytest.raises(SystemExit) as info:
        main(["cache", "explode"])
    assert info.value.code != 0
