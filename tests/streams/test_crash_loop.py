"""The crash-loop guard on the real broker: a record that makes its whole ingest step fail (a
test-only fault, see poisoned_worker.py) ends the worker with status 70 again and again, until
the guard replays the step record by record; then only that record is dead-lettered
(`quarantined`) and every other one is counted exactly."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from models.registry import Registry
from streams.simulator import SimConfig, generate
from tests.recount import recount
from tests.streams.stream_harness import (
    Worker,
    assert_counts,
    create_topics,
    produce,
    read_dead_letters,
    simulated,
    wait_for_counters,
)

SCRIPT = str(Path(__file__).with_name("poisoned_worker.py"))
LIMIT = 2


def _poisoned(settings: Any, log: Path, poison: str) -> Worker:
    """The test-only worker, supervised, whose ingest step fails on records holding ``poison``."""
    return Worker(
        settings,
        log,
        supervised=True,
        command=[sys.executable, SCRIPT],
        env={"PAYWATCH_TEST_POISON": poison, "PYTHONPATH": str(Path(__file__).parents[2])},
    )


@pytest.mark.timeout(600)
def test_a_step_that_keeps_failing_is_replayed_record_by_record(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    config = SimConfig(count=2000, seed=11, start=date(2022, 1, 1), end=date(2022, 1, 31))
    records = [(r.key, r.value) for r in generate(config, hoa_binh)]
    poison_at = 700
    key, value = records[poison_at]
    doc = json.loads(value)
    doc["procedure_code"] = "POISON-1"  # still a valid event; only the test fault minds it
    records[poison_at] = (key, json.dumps(doc).encode())
    kept = [i for i in range(len(records)) if i != poison_at]
    expected = recount([records[i][1] for i in kept], hoa_binh)

    settings = settings_factory(crash_loop_limit=LIMIT, standby_replicas=0)
    create_topics(settings)
    positions = produce(kafka_bootstrap, settings.topic("payments"), records)
    log = tmp_path / "worker.log"
    worker = _poisoned(settings, log, "POISON-1").start()
    try:
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 420)
        assert_counts(got, expected.counters)
        deadline_s = time.monotonic() + 60
        quarantined: list[dict[str, Any]] = []
        while time.monotonic() < deadline_s and not quarantined:
            letters = read_dead_letters(kafka_bootstrap, settings.topic("payments-dlq"))
            quarantined = [d for d in letters if d["reason"] == "quarantined"]
            time.sleep(1)
        assert [(d["partition"], d["offset"]) for d in quarantined] == [positions[poison_at]]
        assert quarantined[0]["topic"] == settings.topic("payments")
        assert "ingest step: RuntimeError" in quarantined[0]["detail"]
        others = {(d["partition"], d["offset"]) for d in letters if d["reason"] != "quarantined"}
        want = {positions[kept[i]] for i, _ in expected.dead_letters}
        assert others == want
        text = log.read_text()
        assert text.count("agent ingest failed in the middle of a step") == LIMIT
        assert "replaying its" in text and "records one at a time" in text
        assert worker.alive  # the supervisor runs the worker that got past it
        assert not (settings.data_dir / "failed-steps.json").read_text().strip("{} \n")
    finally:
        worker.stop()


@pytest.mark.timeout(300)
def test_a_fault_on_every_record_is_not_blamed_on_the_records(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    """When every record of a replayed step fails alone, the code is at fault, not the records:
    nothing is dead-lettered and the worker keeps stopping (status 70) for a person to look."""
    config = SimConfig(count=300, seed=12, start=date(2022, 1, 1), end=date(2022, 1, 31))
    records, _ = simulated(config, hoa_binh)
    settings = settings_factory(crash_loop_limit=LIMIT, standby_replicas=0)
    create_topics(settings)
    produce(kafka_bootstrap, settings.topic("payments"), records)
    log = tmp_path / "worker.log"
    worker = _poisoned(settings, log, "").start()
    try:
        deadline_s = time.monotonic() + 180
        while time.monotonic() < deadline_s and "replaying its" not in log.read_text():
            time.sleep(1)
        time.sleep(5)
        text = log.read_text()
        assert "replaying its" in text  # the guard tried the records one at a time
        assert "fails its step alone" not in text
        assert text.count("agent ingest failed in the middle of a step") > LIMIT
        letters = read_dead_letters(kafka_bootstrap, settings.topic("payments-dlq"))
        assert not [d for d in letters if d["reason"] == "quarantined"]
    finally:
        worker.stop()
