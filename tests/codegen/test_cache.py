"""The on-disk cache: atomic entries, locking across processes, corruption, LRU pruning."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codegen import cache as cache_mod
from codegen.cache import Cache, key_of


def writer(payload: bytes, log: list):
    def build(d: Path) -> None:
        log.append(d)
        (d / "kernel.so").write_bytes(payload)

    return build


def test_entry_layout_metadata_and_memory(tmp_path):
    root = tmp_path / "c"
    c = Cache(root)
    assert not root.exists()  # created lazily
    log: list = []
    parts = {"source_sha256": "a", "compiler": "cc"}
    entry = c.get(parts, writer(b"x" * 10, log), label="demo")
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["parts"] == parts and meta["key"] == key_of(parts) and meta["label"] == "demo"
    assert set(meta["files"]) == {"kernel.so"}
    assert c.get(parts, writer(b"y", log)) == entry and len(log) == 1  # memory layer
    Cache._memory.clear()
    assert Cache(root).get(parts, writer(b"y", log)) == entry and len(log) == 1  # disk hit
    assert "compiler" in c.explain({"source_sha256": "a", "compiler": "clang"})
    assert not list((root / "staging").iterdir())


def test_truncated_entry_is_rebuilt(tmp_path):
    c = Cache(tmp_path)
    log: list = []
    parts = {"p": "truncate"}
    entry = c.get(parts, writer(b"z" * 100, log))
    with open(entry / "kernel.so", "r+b") as f:
        f.truncate(10)
    Cache._memory.clear()
    assert "checksum" in c.verify(entry)
    entry2 = c.get(parts, writer(b"z" * 100, log))
    assert entry2 == entry and len(log) == 2 and c.verify(entry) == ""
    assert (entry / "kernel.so").read_bytes() == b"z" * 100


def test_read_only_dir_degrades_with_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "_writable", lambda path: False)  # root ignores chmod
    log: list = []
    with pytest.warns(UserWarning, match="not writable"):
        entry = Cache(tmp_path / "ro").get({"p": "ro"}, writer(b"1", log))
    assert (entry / "kernel.so").read_bytes() == b"1"
    assert not str(entry).startswith(str(tmp_path / "ro"))


def test_foreign_entries_are_refused(tmp_path, monkeypatch):
    c = Cache(tmp_path)
    log: list = []
    c.get({"p": "mine"}, writer(b"1", log))
    Cache._memory.clear()
    real = os.getuid()
    monkeypatch.setattr(cache_mod.os, "getuid", lambda: real + 1)
    with pytest.warns(UserWarning):
        entry = c.get({"p": "mine"}, writer(b"2", log))
    assert len(log) == 2 and (entry / "kernel.so").read_bytes() == b"2"


def test_prune_lru_info_clear(tmp_path):
    c = Cache(tmp_path, max_bytes=10**9)
    log: list = []
    entries = [c.get({"p": str(i)}, writer(b"x" * 1000, log)) for i in range(3)]
    for age, e in zip((300, 100, 200), entries, strict=False):  # entry 0 is the least recently used
        t = 1_000_000 + 10 * (1000 - age)
        os.utime(e / "last_used", (t, t))
    info = c.info()
    assert info["entries"] == 3 and info["bytes"] > 3000
    per_entry = info["bytes"] // 3
    assert c.prune(2 * per_entry + 10) == 1
    left = {e["path"] for e in c.list_entries()}
    assert str(entries[0]) not in left and len(left) == 2
    assert c.clear() == 2 and c.info()["entries"] == 0


def test_building_keeps_the_cache_under_its_limit_without_scanning_each_time(tmp_path, monkeypatch):
    per_entry = 4000
    small = Cache(tmp_path / "small", max_bytes=3 * per_entry)
    log: list = []
    for i in range(8):
        small.get({"p": f"limit{i}"}, writer(b"x" * 3000, log))
        assert small.info()["bytes"] <= 3 * per_entry + per_entry  # the newest entry is kept
    scans = []
    real = Cache.list_entries
    monkeypatch.setattr(Cache, "list_entries", lambda self: scans.append(1) or real(self))
    big = Cache(tmp_path / "big", max_bytes=10**9)
    for i in range(12):
        big.get({"p": f"many{i}"}, writer(b"x" * 3000, log))
    # a process scans once, then only when its running sum passes the limit
    assert len(scans) == 1


SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np
    sys.path.insert(0, {repo!r})
    from codegen import toolchain
    from codegen.ir import *
    original = toolchain.Toolchain.compile
    def counted(self, source, out_dir, with_blas=False):
        with open({log!r}, "a") as f:
            f.write("compile\\n")
        return original(self, source, out_dir, with_blas)
    toolchain.Toolchain.compile = counted
    from codegen.load_c import compile_and_load
    a = Buffer("a", "float64", 1)
    out = Buffer("out", "float64", 1, "output", (Shape(a, 0),))
    e = BinOp("mul", Load(0, "float64"), Const({factor}, "float64"))
    prog = Program((a,), (out,), (), (Elementwise((Shape(a, 0),), (contiguous_view(a),),
                                                 (Store(contiguous_view(out), e),)),))
    f = compile_and_load(prog, cache_dir={cache!r}).fn
    assert f(np.arange(3.0)).tolist() == [0.0, {factor}, 2 * {factor}]
    print("ok")
    """
)


def test_eight_processes_compile_once(tmp_path):
    repo = str(Path(__file__).resolve().parents[2])
    cache = tmp_path / "shared"
    log = tmp_path / "compiles.log"
    # build the shim once first so that only the kernel races
    warm = SCRIPT.format(repo=repo, log=str(tmp_path / "warm.log"), cache=str(cache), factor=5.0)
    assert subprocess.run([sys.executable, "-c", warm], capture_output=True).returncode == 0
    script = SCRIPT.format(repo=repo, log=str(log), cache=str(cache), factor=3.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), results
    assert all(out.strip() == "ok" for out, _ in results)
    assert log.read_text().count("compile") == 1


def test_lookup_never_builds_and_verifies(tmp_path):
    c = Cache(tmp_path)
    log: list = []
    parts = {"p": "lookup"}
    assert c.lookup(parts) is None and not log
    entry = c.get(parts, writer(b"q" * 50, log))
    Cache._memory.clear()
    assert c.lookup(parts) == entry and c.entry_for_key(key_of(parts)) == entry
    assert c.entry_for_key("../" + key_of(parts)[3:]) is None  # only plain hex keys
    with open(entry / "kernel.so", "r+b") as f:
        f.truncate(5)
    Cache._memory.clear()
    assert c.lookup(parts) is None  # a damaged entry is not handed out
    c.discard(parts)
    assert not entry.exists()
    assert c.get(parts, writer(b"q" * 50, log)) == entry and len(log) == 2


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_file_lock_excludes_other_holders_until_released(tmp_path):
    import fcntl

    path = tmp_path / "k.lock"

    def try_lock() -> bool:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(fd)

    with cache_mod._file_lock(path):
        assert not try_lock()
    assert try_lock()
