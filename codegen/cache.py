"""A content-addressed on-disk cache of compiled artifacts.

An entry's key is the SHA-256 of named *parts* (source digest, compiler and
version, flags, machine, ABI and codegen versions ...). Each entry is a
directory ``ROOT/KEY[:2]/KEY/`` holding the built files and ``meta.json``
(the parts, a SHA-256 per file, creation time: JSON, never pickle).

* Builds happen in ``ROOT/staging/`` and are renamed into place, so readers
  never see partial entries. A per-key file lock only avoids duplicate work.
* A checksum mismatch (a truncated or corrupt file) triggers a rebuild.
* Entries owned by another user are never loaded; a read-only or unusable
  root degrades, with a warning, to building in a private temporary directory.
* ``ROOT`` is created (mode 0700) on first use, not at import.
* Loading touches ``last_used``; :func:`prune` drops least recently used entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

META = "meta.json"
LAST_USED = "last_used"
DEFAULT_MAX_BYTES = 1 << 30
_TEMP_DIRS: list = []


def default_cache_dir() -> Path:
    """``$SYMC_CACHE_DIR``, else the per-user cache directory (``platformdirs``)."""
    env = os.environ.get("SYMC_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("symc")) / "codegen"


def key_of(parts: dict) -> str:
    """The cache key (hex SHA-256) of a dict of named string parts."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _writable(path: Path) -> bool:
    # separate so tests can simulate a read-only directory when running as root
    return os.access(path, os.W_OK | os.X_OK)


class Cache:
    """The cache rooted at ``root`` (default :func:`default_cache_dir`)."""

    _memory: dict = {}  # (root, key) -> entry path; shared by all instances in a process
    _sizes: dict = {}  # root -> bytes at this process's last scan plus what it added since

    def __init__(self, root: Path | str | None = None, max_bytes: int | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()
        env_max = os.environ.get("SYMC_CACHE_MAX_BYTES")
        self.max_bytes = max_bytes or (int(env_max) if env_max else DEFAULT_MAX_BYTES)

    # -- building -----------------------------------------------------------

    def get(self, parts: dict, build: Callable[[Path], None], label: str = "") -> Path:
        """The entry directory for ``parts``, calling ``build(dir)`` to fill it on a miss.

        ``build`` writes its files into the directory it is given. ``label`` is
        recorded in the metadata for ``list_entries``.
        """
        key = key_of(parts)
        memo = (str(self.root), key)
        hit = self._memory.get(memo)
        if hit is not None:
            return hit
        root = self._usable_root()
        if root is None:
            return self._build_private(parts, build, label, "the cache directory is not writable")
        entry = root / key[:2] / key
        why = self.verify(entry)
        if why == "foreign":
            return self._build_private(parts, build, label, "an entry belongs to another user")
        if why:
            try:
                (root / "locks").mkdir(mode=0o700, exist_ok=True)
                with _file_lock(root / "locks" / f"{key}.lock"):
                    why = self.verify(entry)  # another process may have built it meanwhile
                    if why:
                        self._build_entry(root, entry, parts, build, label)
            except OSError as exc:
                return self._build_private(parts, build, label, f"the cache failed: {exc}")
            self._maybe_prune(entry)
        self._touch(entry)
        self._memory[memo] = entry
        return entry

    def lookup(self, parts: dict) -> Path | None:
        """The intact entry for ``parts`` if there is one (checksums verified), else None.

        Never builds and never waits for a lock: a miss costs a ``stat``.
        """
        key = key_of(parts)
        hit = self._memory.get((str(self.root), key))
        if hit is not None:
            return hit
        return self.entry_for_key(key)

    def entry_for_key(self, key: str) -> Path | None:
        """The intact entry whose key is ``key`` (its metadata says so too), else None."""
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            return None
        entry = self.root / key[:2] / key
        why, meta = self._check(entry)
        if why or meta.get("key") != key:
            return None
        self._touch(entry)
        self._memory[(str(self.root), key)] = entry
        return entry

    def discard(self, parts: dict) -> None:
        """Remove the entry for ``parts`` (if any), so that the next :meth:`get` rebuilds it."""
        key = key_of(parts)
        self._memory.pop((str(self.root), key), None)
        entry = self.root / key[:2] / key
        if entry.exists() and self._usable_root() is not None:
            self._discard(self.root, entry)

    def _build_entry(self, root: Path, entry: Path, parts: dict, build, label: str) -> None:
        import shutil
        import tempfile

        staging_root = root / "staging"
        staging_root.mkdir(mode=0o700, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="build-", dir=staging_root))
        try:
            build(staging)
            _write_meta(staging, parts, label)
            if entry.exists():  # corrupt: move it aside first (rename onto a dir fails)
                self._discard(root, entry)
            entry.parent.mkdir(mode=0o700, exist_ok=True)
            os.rename(staging, entry)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def _build_private(self, parts: dict, build, label: str, reason: str) -> Path:
        import atexit
        import shutil
        import tempfile

        warnings.warn(
            f"symc: not using the compile cache at {self.root} ({reason}); "
            "building in a temporary directory instead.",
            stacklevel=3,
        )
        tmp = Path(tempfile.mkdtemp(prefix="symc-build-"))
        if not _TEMP_DIRS:
            atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in _TEMP_DIRS])
        _TEMP_DIRS.append(tmp)
        build(tmp)
        _write_meta(tmp, parts, label)
        return tmp

    def _usable_root(self) -> Path | None:
        root = self.root
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return None
        if not _writable(root):
            return None
        try:
            if root.stat().st_uid != os.getuid():
                return None
        except OSError:
            return None
        return root

    # -- checking -------------------------------------------------------------

    def verify(self, entry: Path) -> str:
        """ "" when ``entry`` is complete and intact; else why not ("missing", "foreign", ...)."""
        return self._check(entry)[0]

    def _check(self, entry: Path) -> tuple[str, dict]:
        """:meth:`verify`'s answer, and the entry's metadata when it is intact (one read)."""
        try:
            st = entry.stat()
        except OSError:
            return "missing", {}
        if st.st_uid != os.getuid():
            return "foreign", {}
        try:
            meta = json.loads((entry / META).read_text())
            for name, digest in meta["files"].items():
                if sha256_file(entry / name) != digest:
                    return f"checksum mismatch in {name}", {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return "unreadable metadata or files", {}
        return ("", meta) if isinstance(meta, dict) else ("unreadable metadata or files", {})

    def explain(self, parts: dict) -> str:
        """Why ``parts`` miss: the entry that differs in the fewest parts, and those parts."""
        best = None
        for meta in self._metas():
            old = meta.get("parts", {})
            diff = sorted(k for k in set(old) | set(parts) if old.get(k) != parts.get(k))
            if best is None or len(diff) < len(best[0]):
                best = (diff, meta)
        if best is None:
            return "the cache is empty."
        if not best[0]:
            return f"an entry with these parts exists ({best[1].get('key')})."
        return f"nearest entry {best[1].get('key', '?')[:12]} differs in: {', '.join(best[0])}."

    # -- maintenance ----------------------------------------------------------

    def list_entries(self) -> list:
        """One dict per entry: key, label, bytes, created, last_used (newest use first)."""
        out = []
        for meta in self._metas():
            entry = Path(meta["_path"])
            out.append(
                {
                    "key": meta.get("key", entry.name),
                    "label": meta.get("label", ""),
                    "bytes": _dir_bytes(entry),
                    "created": meta.get("created"),
                    "last_used": _last_used(entry),
                    "path": str(entry),
                }
            )
        return sorted(out, key=lambda e: -e["last_used"])

    def info(self) -> dict:
        """Totals: path, number of entries, bytes, byte limit."""
        entries = self.list_entries()
        return {
            "path": str(self.root),
            "entries": len(entries),
            "bytes": sum(e["bytes"] for e in entries),
            "max_bytes": self.max_bytes,
        }

    def clear(self) -> int:
        """Remove every entry (and leftovers of interrupted builds); return how many."""
        import shutil

        entries = self.list_entries()
        for e in entries:
            self._discard(self.root, Path(e["path"]))
        for sub in ("staging", "trash"):
            shutil.rmtree(self.root / sub, ignore_errors=True)
        self._memory.clear()
        self._sizes.pop(str(self.root), None)
        return len(entries)

    def prune(self, max_bytes: int, keep: Path | None = None) -> int:
        """Remove least recently used entries until at most ``max_bytes`` remain."""
        entries = self.list_entries()
        total = sum(e["bytes"] for e in entries)
        removed = 0
        for e in reversed(entries):  # oldest use first
            if total <= max_bytes:
                break
            if keep is not None and Path(e["path"]) == Path(keep):
                continue
            self._discard(self.root, Path(e["path"]))
            total -= e["bytes"]
            removed += 1
        self._sizes[str(self.root)] = total
        return removed

    def _maybe_prune(self, entry: Path) -> None:
        """Prune once this process's estimate of the cache's size passes the limit.

        Scanning every entry after every build made a session that compiles
        thousands of functions quadratic in their number. A process scans once,
        then adds what it builds, and scans again when the sum passes the
        limit; entries other processes add meanwhile are counted by their own
        scans, so the limit can be passed by at most what they added.
        """
        root = str(self.root)
        known = self._sizes.get(root)
        added = _dir_bytes(entry)
        if known is None or known + added > self.max_bytes:
            self.prune(self.max_bytes, keep=entry)
        else:
            self._sizes[root] = known + added

    def _metas(self):
        if not self.root.is_dir():
            return
        for meta_path in sorted(self.root.glob(f"??/*/{META}")):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, ValueError):
                continue
            meta["_path"] = str(meta_path.parent)
            yield meta

    def _discard(self, root: Path, entry: Path) -> None:
        import shutil
        import tempfile

        trash = root / "trash"
        try:
            trash.mkdir(mode=0o700, exist_ok=True)
            dest = Path(tempfile.mkdtemp(prefix="old-", dir=trash))
            os.rename(entry, dest / "entry")
            shutil.rmtree(dest, ignore_errors=True)
        except OSError:
            shutil.rmtree(entry, ignore_errors=True)
        for memo, path in list(self._memory.items()):
            if path == entry:
                del self._memory[memo]

    @staticmethod
    def _touch(entry: Path) -> None:
        try:
            (entry / LAST_USED).touch()
        except OSError:
            pass  # a read-only entry still loads; it only ages faster


@contextlib.contextmanager
def _file_lock(path: Path):
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block.

    POSIX ``flock`` directly: importing ``filelock`` costs a cold compile tens
    of milliseconds. Elsewhere (Windows) ``filelock`` does it.
    """
    try:
        import fcntl
    except ImportError:
        from filelock import FileLock

        with FileLock(str(path)):
            yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks while another process builds this key
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write_meta(directory: Path, parts: dict, label: str) -> None:
    files = {p.name: sha256_file(p) for p in sorted(directory.iterdir()) if p.is_file()}
    meta = {
        "key": key_of(parts),
        "parts": parts,
        "files": files,
        "label": label,
        "created": time.time(),
    }
    (directory / META).write_text(json.dumps(meta, indent=1, sort_keys=True))


def _dir_bytes(entry: Path) -> int:
    try:
        return sum(p.stat().st_size for p in entry.iterdir() if p.is_file())
    except OSError:
        return 0


def _last_used(entry: Path) -> float:
    for name in (LAST_USED, META):
        try:
            return (entry / name).stat().st_mtime
        except OSError:
            continue
    return 0.0


def info(cache_dir: Path | str | None = None) -> dict:
    """Totals of the cache at ``cache_dir`` (default location if None)."""
    return Cache(cache_dir).info()


def list_entries(cache_dir: Path | str | None = None) -> list:
    """The entries of the cache at ``cache_dir``, most recently used first."""
    return Cache(cache_dir).list_entries()


def clear(cache_dir: Path | str | None = None) -> int:
    """Empty the cache at ``cache_dir``; return the number of entries removed."""
    return Cache(cache_dir).clear()


def prune(max_bytes: int, cache_dir: Path | str | None = None) -> int:
    """Shrink the cache at ``cache_dir`` to ``max_bytes`` by least recent use."""
    return Cache(cache_dir).prune(max_bytes)
