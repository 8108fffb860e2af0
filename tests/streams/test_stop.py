"""A worker stopped with SIGTERM mid-stream makes its last checkpoint, commits and exits with
status 0 (Faust's own stop waited forever for events that a step would never acknowledge);
a worker started again then finishes the counts exactly."""

from __future__ import annotations

import signal
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
    read_counters,
    simulated,
    wait_for_counters,
)


@pytest.mark.timeout(400)
def test_sigterm_exits_after_a_last_checkpoint(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    config = SimConfig(count=20_000, seed=21, start=date(2022, 1, 1), end=date(2022, 3, 31))
    records, expected = simulated(config, hoa_binh)
    settings = settings_factory(standby_replicas=0)
    create_topics(settings)
    produce(kafka_bootstrap, settings.topic("payments"), records)
    log = tmp_path / "worker.log"
    worker = Worker(settings, log).start()
    try:
        deadline_s = time.monotonic() + 120
        while time.monotonic() < deadline_s and not read_counters(kafka_bootstrap, settings.app_id):
            time.sleep(1)
        assert worker.proc is not None
        worker.proc.send_signal(signal.SIGTERM)
        status = worker.proc.wait(timeout=60)  # a hang guard, not a speed goal
        assert status == 0
        assert "last checkpoint, then exit" in log.read_text()
        worker.start()
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 300)
        assert_counts(got, expected.counters)
    finally:
        worker.stop()
