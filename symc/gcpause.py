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
def gc_paused(promote: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector for the ``with`` block (if it was on).

    ``promote``: afterwards, move every tracked object into the oldest
    generation. For blocks that make objects meant to live as long as the
    process (symc's modules: about 20,000 of them): the collector would
    otherwise scan each of them twice, in a young and then a middle
    collection, only to find it alive (about 3 ms at the first use of symc).
    Objects of the caller's made before the block are promoted too, which
    only means their cycles wait for the next full collection. Skipped when
    the program froze objects itself (``gc.freeze``), since promoting goes
    through the permanent generation and would thaw them.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if promote and gc.get_freeze_count() == 0:
            gc.freeze()  # every generation -> permanent (and the young count to 0)
            gc.unfreeze()  # permanent -> oldest
        if was_enabled:
            gc.enable()
