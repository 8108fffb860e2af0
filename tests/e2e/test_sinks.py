"""The sinks agree with the counters: a real worker fed by the simulator, its Redis live view
and its /metrics scrape, against the offline recount (tests/recount.py).

Sizes: the ground-truth stream of the counting tests (PAYWATCH_TEST_EVENTS, 100,000 events,
October 2021 to March 2022) for the equality test; PAYWATCH_TEST_E2E_EVENTS (default 8,000,
two months of 2022) for the outage and rebalance tests. All for Hòa Bình; the year/month/day
gauges follow the stream's current day (docs/event-time.md; here the newest day counted)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from models.registry import Registry
from streams.simulator import SimConfig
from tests.e2e.sink_checks import (
    ChangeFeed,
    check_rankings,
    expected_totals,
    expected_windows,
    scrape,
    unit_totals,
    wait_for_redis,
    window_gauges,
)
from tests.recount import Recount
from tests.streams.private_servers import PrivateRedis
from tests.streams.stream_harness import (
    Records,
    Worker,
    assert_counts,
    create_topics,
    produce,
    simulated,
    wait_for_counters,
)

EVENTS = int(os.environ.get("PAYWATCH_TEST_E2E_EVENTS", "8000"))
TRUTH_EVENTS = int(os.environ.get("PAYWATCH_TEST_EVENTS", "100000"))


def _input(
    seed: int,
    count: int = EVENTS,
    start: date = date(2022, 1, 1),
    end: date = date(2022, 2, 28),
) -> tuple[Records, Recount, Registry]:
    registry = Registry.load({"17"})
    config = SimConfig(count=count, seed=seed, start=start, end=end)
    return (*simulated(config, registry), registry)


def _worker(settings_factory: Callable[..., Any], tmp_path: Path, name: str, **extra: Any) -> Any:
    return settings_factory(processing_guarantee="at_least_once", data_dir=tmp_path / name, **extra)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_redis_and_metrics_equal_the_recount(
    settings_factory: Callable[..., Any],
    kafka_bootstrap: str,
    redis_server_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    records, expected, registry = _input(21, TRUTH_EVENTS, date(2021, 10, 1), date(2022, 3, 31))
    settings = _worker(settings_factory, tmp_path, "w1")
    create_topics(settings)
    feed = ChangeFeed(redis_server_url, settings.redis_prefix)
    worker = Worker(settings, tmp_path / "w1.log").start()
    try:
        produce(kafka_bootstrap, settings.topic("payments"), records)
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 600)
        assert_counts(got, expected.counters)
        view = wait_for_redis(redis_server_url, settings.redis_prefix, expected.counters, 120)
        assert_counts(view, expected.counters)
        assert check_rankings(redis_server_url, settings.redis_prefix, expected.counters, registry)
        time.sleep(2)  # the last pub/sub messages
        assert feed.seen >= set(expected.counters)
        samples = scrape(settings.web_port)
        assert unit_totals(samples) == expected_totals(expected.counters)
        gauges = window_gauges(samples)
        want = expected_windows(expected.counters)
        assert want, "no event fell in the current year"
        assert {k: v for k, v in gauges.items() if k in want or v} == want
        # Each payment is observed once, when the tally has stored its counters.
        paid = sum(
            v["paid"]
            for (unit, period), v in expected.counters.items()
            if unit == "17" and len(period) == 4
        )  # the province's years: every payment
        assert paid > 0.5 * len(records)
        for histogram in ("paywatch_produce_delay_seconds", "paywatch_event_time_delay_seconds"):
            assert samples[(f"{histogram}_count", ())] == paid, histogram
        # Produced during this test, counted within its 600 s wait.
        mean = samples[("paywatch_produce_delay_seconds_sum", ())] / paid
        assert 0 < mean < 600, mean
        promtool = subprocess.run(
            ["promtool", "check", "metrics"],
            input=_raw_scrape(settings.web_port),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    finally:
        feed.close()
        worker.stop()


def _raw_scrape(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        body: bytes = response.read()
        return body.decode()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_redis_down_for_30_seconds_then_converges(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The Redis stopped is this test's own (persistent, so it comes back with what it held);
    the stack's Redis, which the other tests and a running deployment use, stays up."""
    records, expected, _ = _input(seed=22)
    private = tmp_path / "redis"
    private.mkdir()
    server = PrivateRedis(private, persistent=True)
    server.start()
    settings = _worker(settings_factory, tmp_path, "w1", redis_url=server.url)
    create_topics(settings)
    worker = Worker(settings, tmp_path / "w1.log").start()
    half = len(records) // 2
    try:
        produce(kafka_bootstrap, settings.topic("payments"), records[:half])
        time.sleep(5)
        server.stop()
        try:
            produce(kafka_bootstrap, settings.topic("payments"), records[half:])
            time.sleep(30)
            errors = _sample(settings.web_port, "paywatch_sink_errors_total", sink="redis")
            assert errors > 0
        finally:
            server.start()
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 600)
        assert_counts(got, expected.counters)
        view = wait_for_redis(server.url, settings.redis_prefix, expected.counters, 180)
        assert_counts(view, expected.counters)
        assert _sample(settings.web_port, "paywatch_sink_pending_updates", sink="redis") == 0
    finally:
        worker.stop()
        server.kill()


def _sample(port: int, name: str, **labels: str) -> float:
    wanted = tuple(sorted(labels.items()))
    return scrape(port).get((name, wanted), 0.0)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_workers_after_a_rebalance_sum_to_the_truth(
    settings_factory: Callable[..., Any],
    kafka_bootstrap: str,
    redis_server_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    records, expected, _ = _input(seed=23)
    first = _worker(settings_factory, tmp_path, "w1", log_level="info")
    second = first.model_copy(
        update={"data_dir": tmp_path / "w2", "web_port": settings_factory().web_port}
    )
    create_topics(first)
    workers = [Worker(first, tmp_path / "w1.log").start()]
    half = len(records) // 2
    try:
        produce(kafka_bootstrap, first.topic("payments"), records[:half])
        time.sleep(10)
        workers.append(Worker(second, tmp_path / "w2.log").start())  # a rebalance mid-stream
        produce(kafka_bootstrap, first.topic("payments"), records[half:])
        got = wait_for_counters(kafka_bootstrap, first.app_id, expected.counters, 600)
        assert_counts(got, expected.counters)
        want = expected_totals(expected.counters)
        deadline_s = time.monotonic() + 120
        while True:
            a, b = unit_totals(scrape(first.web_port)), unit_totals(scrape(second.web_port))
            both = set(a) & set(b)
            merged = {**a, **b}
            if (not both and merged == want) or time.monotonic() > deadline_s:
                break
            time.sleep(2)
        assert not both, f"units exposed by both workers: {sorted(both)[:10]}"
        assert a and b, "one worker exposes nothing: no rebalance happened"
        assert merged == want
        view = wait_for_redis(redis_server_url, first.redis_prefix, expected.counters, 120)
        assert_counts(view, expected.counters, *(worker.log for worker in workers))
    finally:
        for worker in workers:
            worker.stop()
