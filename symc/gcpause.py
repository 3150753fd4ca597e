"""``gc_paused``: the cyclic garbage collector off for a block of symc's own work.

Graph passes and loading symc's modules allocate many long-lived objects and
no cycles, so the collector's repeated scans of the young generation are
pure cost (about a third of the time of a rewrite or a gradient of a big
graph; 3-5 ms of a warm-cache first call). A module of its own, with no
imports beyond the standard library, so ``import symc`` can use it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the ``with`` block (if it was on)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
