"""Ground truth: a seeded simulator stream (duplicates, early refunds, malformed, late,
near-midnight and year-end events) through one real worker equals the offline recount exactly,
and the dead-letter topic holds exactly the bad records.

Size: PAYWATCH_TEST_EVENTS (default 100,000)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from models.registry import Registry
from streams.simulator import SimConfig
from tests.streams.stream_harness import (
    Worker,
    assert_counts,
    create_topics,
    produce,
    read_dead_letters,
    simulated,
    wait_for_counters,
)

EVENTS = int(os.environ.get("PAYWATCH_TEST_EVENTS", "100000"))


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_ground_truth_one_worker(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    config = SimConfig(count=EVENTS, seed=7, start=date(2021, 10, 1), end=date(2022, 3, 31))
    records, expected = simulated(config, hoa_binh)
    settings = settings_factory(processing_guarantee="at_least_once")
    create_topics(settings)
    positions = produce(kafka_bootstrap, settings.topic("payments"), records)
    started_s = time.monotonic()
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 1200)
        elapsed_s = time.monotonic() - started_s
        print(f"{EVENTS} events counted exactly in {elapsed_s:.1f}s ({EVENTS / elapsed_s:.0f}/s)")
        assert_counts(got, expected.counters)
        dead = read_dead_letters(kafka_bootstrap, settings.topic("payments-dlq"))
        index = {pos: i for i, pos in enumerate(positions)}
        letters = [(index[(d["partition"], d["offset"])], d["reason"]) for d in dead]
        assert len(letters) == len(set(letters)), "a bad record was dead-lettered twice"
        assert sorted(letters) == expected.dead_letters
    finally:
        worker.stop()
