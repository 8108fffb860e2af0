"""The probes' pages (streams/health.py): the pure decision, then real `paywatch worker`
subprocesses on the real broker. /healthz answers while a worker rebuilds its tables from their
changelogs (liveness must not kill it then); /readyz is 200 only once it counts, 503 with the
reasons for a worker that holds no partition."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import faust
import pytest

from models.registry import Registry
from streams import health
from streams.health import HEALTHZ, READYZ, STALLED_AFTER_S, Progress, State, not_ready_because
from streams.simulator import SimConfig
from tests.recount import Recount
from tests.streams.stream_harness import (
    Records,
    Worker,
    assert_counts,
    create_topics,
    get_page,
    produce,
    simulated,
    wait_for_counters,
    wait_for_page,
)

# -- the decision, no servers ----------------------------------------------------------------


def test_ready_only_after_a_completed_rebalance_with_partitions_and_progress() -> None:
    assert not_ready_because(State(rebalances=0, rebalancing=False, sources=0)) == [
        "not joined its consumer group yet"
    ]
    recovering = not_ready_because(State(rebalances=1, rebalancing=True, sources=6))
    assert recovering == ["rebalancing or recovering its tables from their changelogs"]
    assert not_ready_because(State(rebalances=1, rebalancing=False, sources=6)) == []
    assert not_ready_because(State(rebalances=3, rebalancing=False, sources=0)) == [
        "holds no partition (more workers than partitions?)"
    ]
    stalled = not_ready_because(
        State(rebalances=1, rebalancing=False, sources=2, stalled=("payments[1]",))
    )
    assert stalled == [
        f"no progress for {STALLED_AFTER_S:.0f} s with records waiting on payments[1]"
    ]


def test_a_partition_is_stalled_only_with_records_waiting_and_no_commit_for_the_limit() -> None:
    progress = Progress(stalled_after_s=60)
    ends = {"a": 100, "b": 50, "c": None}
    assert progress.look({"a": 10, "b": 50}, ends, now_s=0) == []
    assert progress.look({"a": 10, "b": 50}, ends, now_s=59.9) == []
    # a: 90 records waiting on the same commit for 60 s; b is caught up; c was never fetched.
    assert progress.look({"a": 10, "b": 50}, ends, now_s=60) == ["a"]
    # A commit moves the clock of a again.
    assert progress.look({"a": 11, "b": 50}, ends, now_s=100) == []
    assert progress.look({"a": 11, "b": 50}, ends, now_s=159) == []
    # b was caught up until records came at 160: its clock starts then, not at its last commit.
    assert progress.look({"a": 11, "b": 50}, {"a": 100, "b": 60}, now_s=160) == ["a"]
    assert progress.look({"a": 100, "b": 50}, {"a": 100, "b": 60}, now_s=219) == []
    assert progress.look({"a": 100, "b": 50}, {"a": 100, "b": 60}, now_s=220) == ["b"]
    assert progress.waiting == 1  # b (a is caught up)
    # Never committed: waiting from offset 0.
    assert Progress(stalled_after_s=0).look({}, {"d": 5}, now_s=1) == ["d"]
    # A partition taken away is forgotten; given back, its clock starts again.
    progress.look({}, {"a": 100}, now_s=300)
    assert progress.look({"b": 50}, {"a": 100, "b": 60}, now_s=301) == []


def test_the_pages_and_the_state_on_a_faust_app_that_never_joined() -> None:
    # The Faust attributes the state is read from exist with these shapes (no broker needed).
    async def install() -> tuple[Any, State]:
        app = faust.App(
            "paywatch-health-contract", broker="kafka://127.0.0.1:1", autodiscover=False
        )
        return app, health.install(app).state()

    app, state = asyncio.run(install())
    assert state == State(rebalances=0, rebalancing=False, sources=0)
    assert not_ready_because(state) == ["not joined its consumer group yet"]
    assert {HEALTHZ, READYZ} <= set(app.web.views)


# -- real workers ------------------------------------------------------------------------------


def _input(count: int) -> tuple[Records, Recount]:
    registry = Registry.load({"17"})
    config = SimConfig(count=count, seed=11, start=date(2022, 1, 1), end=date(2022, 12, 31))
    return simulated(config, registry)


@pytest.mark.timeout(400)
def test_ready_when_counting_and_not_ready_without_partitions(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    # One partition: the second worker of the group holds none (it may keep standbys).
    first = settings_factory(data_dir=tmp_path / "a", partitions=1)
    second = settings_factory(data_dir=tmp_path / "b", partitions=1)
    records, expected = _input(500)
    create_topics(first)
    a = Worker(first, tmp_path / "a.log").start()
    b = Worker(second, tmp_path / "b.log")
    try:
        assert wait_for_page(first, HEALTHZ, 200)["alive"] is True
        ready = wait_for_page(first, READYZ, 200)
        assert ready["ready"] is True and ready["reasons"] == []
        assert ready["partitions"] == 5  # 5 topics read, 1 partition each
        produce(kafka_bootstrap, first.topic("payments"), records)
        got = wait_for_counters(kafka_bootstrap, first.app_id, expected.counters, 180)
        assert_counts(got, expected.counters)
        # Caught up, no partition has records waiting: an idle worker never turns "stalled".
        deadline_s = time.monotonic() + 60
        while (ready := wait_for_page(first, READYZ, 200))["waiting"]:
            assert time.monotonic() < deadline_s, ready
            time.sleep(1)

        b.start()
        idle = wait_for_page(second, READYZ, 503)
        deadline_s = time.monotonic() + 120
        while idle["reasons"] != ["holds no partition (more workers than partitions?)"]:
            assert time.monotonic() < deadline_s, idle
            time.sleep(0.5)
            idle = wait_for_page(second, READYZ, 503)
        assert idle == {
            "ready": False,
            "reasons": ["holds no partition (more workers than partitions?)"],
            "partitions": 0,
            "waiting": 0,
        }
        assert get_page(second, HEALTHZ)[0] == 200
        # The first worker still counts after the rebalance the second one caused.
        assert wait_for_page(first, READYZ, 200)["partitions"] == 5
        assert get_page(second, READYZ)[0] == 503
    finally:
        b.stop()
        a.stop()


@pytest.mark.timeout(600)
def test_alive_but_not_ready_while_the_tables_are_rebuilt_from_their_changelogs(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = settings_factory(data_dir=tmp_path / "w", partitions=2)
    records, expected = _input(30_000)
    create_topics(settings)
    produce(kafka_bootstrap, settings.topic("payments"), records)
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        # Seconds of backlog: the look at progress sees records waiting (and the worker ready).
        deadline_s = time.monotonic() + 120
        while True:
            try:
                code, body = get_page(settings, READYZ)
            except OSError:  # the web server is not up yet
                code, body = 0, {}
            if body.get("waiting"):
                break
            assert time.monotonic() < deadline_s, body
            time.sleep(0.2)
        assert code == 200 and body["ready"] is True, body
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 300)
        assert_counts(got, expected.counters)
        worker.stop()
        shutil.rmtree(settings.data_dir)  # a new node: every table comes from its changelog

        worker.start()
        seen: list[tuple[int, int, str]] = []  # (healthz, readyz, first reason) in order
        deadline_s = time.monotonic() + 300
        while time.monotonic() < deadline_s:
            try:
                live, _ = get_page(settings, HEALTHZ)
                code, body = get_page(settings, READYZ)
            except OSError:  # the web server is not up yet
                time.sleep(0.05)
                continue
            seen.append((live, code, (body["reasons"] or [""])[0]))
            if code == 200:
                break
            time.sleep(0.05)
        assert seen and seen[-1][:2] == (200, 200), seen[-5:]
        recovering = [s for s in seen if s[2].startswith("rebalancing or recovering")]
        assert recovering, f"never seen recovering: {sorted(set(seen))}"
        assert all(live == 200 for live, _, _ in seen)
        assert worker.alive
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 120)
        assert_counts(got, expected.counters)
    finally:
        worker.stop()
