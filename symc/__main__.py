"""``python -m symc cache info|list|clear|prune``: inspect and manage the compile cache.

The cache is the directory ``symc.config.cache_dir`` (``SYMC_CACHE_DIR``, or
the per-user cache directory); ``--dir`` picks another one.
"""

from __future__ import annotations

import argparse
import sys
import time


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _cache(args):
    from codegen.cache import Cache

    from .config import config

    return Cache(args.dir or config.cache_dir, max_bytes=config.cache_max_bytes)


def _info(args) -> int:
    info = _cache(args).info()
    print(f"path:     {info['path']}")
    print(f"entries:  {info['entries']}")
    print(f"size:     {_size(info['bytes'])} ({info['bytes']} bytes)")
    print(f"limit:    {_size(info['max_bytes'])}")
    return 0


def _list(args) -> int:
    entries = _cache(args).list_entries()
    if not entries:
        print("the cache is empty.")
        return 0
    print(f"{'key':<14}{'size':>10}  {'last used':<20}label")
    for e in entries:
        used = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["last_used"]))
        print(f"{e['key'][:12]:<14}{_size(e['bytes']):>10}  {used:<20}{e['label']}")
    return 0


def _clear(args) -> int:
    n = _cache(args).clear()
    print(f"removed {n} entr{'y' if n == 1 else 'ies'}.")
    return 0


def _prune(args) -> int:
    cache = _cache(args)
    limit = cache.max_bytes if args.max_bytes is None else args.max_bytes
    n = cache.prune(limit)
    print(
        f"removed {n} entr{'y' if n == 1 else 'ies'}; the cache now holds "
        f"{_size(cache.info()['bytes'])} (limit {_size(limit)})."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m symc", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cache = sub.add_parser("cache", help="inspect or manage the compile cache")
    actions = cache.add_subparsers(dest="action", required=True)
    for name, fn, text in (
        ("info", _info, "location, number of entries, total size"),
        ("list", _list, "one line per entry, most recently used first"),
        ("clear", _clear, "remove every entry"),
        ("prune", _prune, "remove least recently used entries above the size limit"),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("--dir", help="the cache directory (default: symc.config.cache_dir)")
        if name == "prune":
            p.add_argument(
                "--max-bytes",
                type=int,
                default=None,
                help="the size to prune to (default: config.cache_max_bytes)",
            )
        p.set_defaults(fn=fn)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
