"""Fault tests: kill -9 a worker at random points and restart it; scale out and in; restart a
private broker mid-stream. Exact at the end. Size: PAYWATCH_TEST_FAULT_EVENTS (default 20,000)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from models.event_decode import decode_event
from models.registry import Registry
from streams.simulator import SimConfig
from tests.recount import Recount
from tests.streams.private_servers import PrivateKafka
from tests.streams.store_check import stale_stores
from tests.streams.stream_harness import (
    Records,
    Worker,
    assert_counts,
    create_topics,
    produce,
    read_counters,
    read_dead_letters,
    simulated,
    wait_for_counters,
)

EVENTS = int(os.environ.get("PAYWATCH_TEST_FAULT_EVENTS", "20000"))


def _input() -> tuple[Records, Recount]:
    registry = Registry.load({"17"})
    config = SimConfig(count=EVENTS, seed=3, start=date(2021, 11, 1), end=date(2022, 2, 28))
    return simulated(config, registry)


def _check_dlq(
    bootstrap: str,
    topic: str,
    positions: list[tuple[int, int]],
    expected: Any,
    records: list[tuple[bytes | None, bytes]],
) -> None:
    """Dead letters equal the recount's. One allowed difference: which of two reversals of the
    same payment is "the second" (already_reversed) follows arrival order, and two reversals in
    different partitions have no order a stream can know; so those are compared by the payment
    they target (same payments, same number of letters)."""
    index = {pos: i for i, pos in enumerate(positions)}
    dead = read_dead_letters(bootstrap, topic)
    letters = {(index[(d["partition"], d["offset"])], d["reason"]) for d in dead}

    def targets(items: set[tuple[int, str]]) -> list[str]:
        return sorted(
            str(decode_event(records[i][1]).reverses) for i, r in items if r == "already_reversed"
        )

    want = set(expected.dead_letters)
    assert targets(letters) == targets(want)
    letters = {item for item in letters if item[1] != "already_reversed"}
    want = {item for item in want if item[1] != "already_reversed"}
    extra, missing = sorted(letters - want), sorted(want - letters)
    assert not extra and not missing, f"extra {extra} missing {missing}"  # replays may repeat


@pytest.mark.faults
@pytest.mark.timeout(1500)
def test_kill_nine_five_times(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    records, expected = _input()
    settings = settings_factory(
        processing_guarantee="at_least_once", standby_replicas=0, log_level="info"
    )
    create_topics(settings)
    rng = random.Random(5)
    half = len(records) // 2
    positions = produce(kafka_bootstrap, settings.topic("payments"), records[:half])
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        for kill in range(6):
            time.sleep(rng.uniform(4.0, 9.0))
            if kill == 2:
                positions += produce(kafka_bootstrap, settings.topic("payments"), records[half:])
            worker.kill()
            worker.start()
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 900)
        assert_counts(got, expected.counters, worker.log)
        _check_dlq(kafka_bootstrap, settings.topic("payments-dlq"), positions, expected, records)
    finally:
        worker.stop()


@pytest.mark.faults
@pytest.mark.timeout(1500)
def test_scale_out_and_in(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    records, expected = _input()
    base = settings_factory(processing_guarantee="at_least_once", log_level="info")
    create_topics(base)
    workers = [
        Worker(
            settings_factory(
                data_dir=tmp_path / f"w{i}", processing_guarantee="at_least_once", log_level="info"
            ),
            tmp_path / f"w{i}.log",
        )
        for i in range(3)
    ]
    third = len(records) // 3
    positions = produce(kafka_bootstrap, base.topic("payments"), records[:third])
    try:
        workers[0].start()
        workers[1].start()
        time.sleep(10)
        positions += produce(kafka_bootstrap, base.topic("payments"), records[third : 2 * third])
        workers[2].start()  # joins mid-stream
        time.sleep(10)
        positions += produce(kafka_bootstrap, base.topic("payments"), records[2 * third :])
        workers[0].stop()  # leaves
        got = wait_for_counters(kafka_bootstrap, base.app_id, expected.counters, 900)
        assert_counts(got, expected.counters, *(worker.log for worker in workers))
        _check_dlq(kafka_bootstrap, base.topic("payments-dlq"), positions, expected, records)
    finally:
        for worker in workers:
            worker.stop()
    # Counts can come out right while a standby copy missed rows (only the worker that later
    # takes that partition over counts wrong), so every copy is checked against its changelog.
    stale = [
        line
        for i in range(3)
        for line in stale_stores(kafka_bootstrap, base.app_id, tmp_path / f"w{i}")
    ]
    assert not stale, "local tables differ from their changelogs:\n" + "\n".join(stale)


@pytest.mark.faults
@pytest.mark.timeout(1500)
def test_broker_restart_mid_stream(settings_factory: Callable[..., Any], tmp_path: Path) -> None:
    """The broker stops for 15 s and starts again while a worker counts. The worker runs under
    supervise.sh, as in `make up`: it reconnects by itself, or, if a step fails while the broker
    is away, exits with status 70 and is started again. Exact at the end either way. The broker
    is this test's own (the stack's, which other tests share, stays up)."""
    broker = PrivateKafka(tmp_path / "kafka")
    broker.start()
    try:
        _count_across_a_broker_restart(settings_factory, broker, tmp_path)
    finally:
        broker.stop()


def _count_across_a_broker_restart(
    settings_factory: Callable[..., Any], broker: PrivateKafka, tmp_path: Path
) -> None:
    records, expected = _input()
    bootstrap = broker.bootstrap
    settings = settings_factory(standby_replicas=0, broker=f"kafka://{bootstrap}", log_level="info")
    create_topics(settings)
    half = len(records) // 2
    positions = produce(bootstrap, settings.topic("payments"), records[:half])
    worker = Worker(settings, tmp_path / "worker.log", supervised=True).start()
    try:
        _wait_until_counting(bootstrap, settings.app_id, worker)
        broker.stop()
        try:
            time.sleep(15)
        finally:
            broker.start()
        assert worker.alive, "the supervised worker gave up while the broker was away"
        positions += produce(bootstrap, settings.topic("payments"), records[half:])
        got = wait_for_counters(bootstrap, settings.app_id, expected.counters, 900)
        assert_counts(got, expected.counters, worker.log)
        _check_dlq(bootstrap, settings.topic("payments-dlq"), positions, expected, records)
    finally:
        worker.stop()


def _wait_until_counting(bootstrap: str, app_id: str, worker: Worker) -> None:
    """Until the first counter rows are stored: the worker is past its start (a broker lost
    while a worker starts is another failure, with its own exit) and counting."""
    deadline_s = time.monotonic() + 300
    while not read_counters(bootstrap, app_id):
        assert worker.alive, "the worker exited before it counted anything"
        assert time.monotonic() < deadline_s, "the worker counted nothing within 300 s"
        time.sleep(0.5)
