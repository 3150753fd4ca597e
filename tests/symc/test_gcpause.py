"""``gc_paused``: restores the collector; ``promote`` moves objects to the oldest generation."""

import gc

import pytest

from symc.gcpause import gc_paused


def _in_generation(obj, generation: int) -> bool:
    return any(o is obj for o in gc.get_objects(generation=generation))


@pytest.mark.parametrize("enabled", [True, False])
def test_restores_the_collector_state(enabled):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(ZeroDivisionError), gc_paused(promote=True):
            1 / 0  # noqa: B018
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_promote_moves_new_objects_to_the_oldest_generation():
    with gc_paused(promote=True):
        made = [[] for _ in range(3)]
    assert _in_generation(made, 2) and not _in_generation(made, 0)
    assert gc.get_freeze_count() == 0


def test_without_promote_new_objects_stay_young():
    with gc_paused():
        made = [[] for _ in range(3)]
    assert not _in_generation(made, 2)


def test_promote_leaves_a_programs_own_freeze_alone():
    kept = [[] for _ in range(3)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused(promote=True):
            made = [[] for _ in range(3)]
        assert gc.get_freeze_count() == frozen  # nothing thawed
        assert not _in_generation(made, 2) and not _in_generation(kept, 2)
    finally:
        gc.unfreeze()
