"""The garbage collector's settings (streams/collector.py), applied in this process and undone."""

from __future__ import annotations

import gc

from streams import collector


def test_tune_freezes_what_exists_and_sets_the_thresholds() -> None:
    before = gc.get_threshold()
    held = [object() for _ in range(10)]  # start-up objects, frozen out of sight
    try:
        collector.tune()
        assert gc.get_threshold() == collector.THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert held
