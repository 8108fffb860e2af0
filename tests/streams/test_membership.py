"""Group membership on the real broker (streams/membership.py): a worker joins as a static
member under its instance id, with the configured session; a worker killed with `kill -9` and
started again takes its own place back (its partitions, no rebalance for the others) and the
counts are exact; a second live worker with the same instance id, or on the same data dir, is
refused at start-up; a worker that comes back with another web address waits for its old place
to expire instead of stalling. Times are never asserted (bench/bench_failover.py measures them).
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from models.registry import Registry
from streams.membership import HEARTBEAT_INTERVAL_S, client_id, default_instance_id, instance_id
from streams.membership import group_options as membership_options
from streams.settings import Settings
from streams.simulator import SimConfig
from tests.recount import Recount, recount
from tests.streams.stream_harness import (
    Records,
    Worker,
    assert_counts,
    create_topics,
    produce,
    simulated,
    wait_for_counters,
)

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass(frozen=True)
class Member:
    member_id: str
    client_id: str
    partitions: frozenset[tuple[str, int]]


async def _describe(bootstrap: str, group: str) -> tuple[str, list[Member]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    [described] = response.groups
    members = []
    for member_id, client, _host, _metadata, assignment in described[5]:
        parts = (
            ConsumerProtocolMemberAssignment.decode(assignment).partitions() if assignment else []
        )
        members.append(
            Member(member_id, client, frozenset((tp.topic, tp.partition) for tp in parts))
        )
    return described[2], members


def group(bootstrap: str, app_id: str) -> tuple[str, list[Member]]:
    """The group's state and members (DescribeGroups), with each member's partitions."""
    return asyncio.run(_describe(bootstrap, app_id))


def wait_for_group(
    bootstrap: str, app_id: str, done: Callable[[list[Member]], bool], timeout_s: float = 120
) -> list[Member]:
    """Poll the group until it is stable and ``done(members)`` holds."""
    deadline_s = time.monotonic() + timeout_s
    members: list[Member] = []
    state = ""
    while time.monotonic() < deadline_s:
        state, members = group(bootstrap, app_id)
        if state == "Stable" and done(members):
            return members
        time.sleep(0.5)
    raise AssertionError(f"group {app_id} is {state}: {members}")


def holder(members: list[Member], settings: Settings) -> Member:
    """The member that holds ``settings``' instance id."""
    mine = [
        m
        for m in members
        if re.fullmatch(re.escape(instance_id(settings)) + "-" + UUID, m.member_id)
    ]
    assert len(mine) == 1, members
    return mine[0]


def metric(settings: Settings, name: str) -> float:
    """An unlabelled sample of the worker's /metrics."""
    url = f"http://127.0.0.1:{settings.web_port}/metrics"
    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read().decode()
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, flags=re.M)
    assert found, f"{name} not in {text[:2000]}"
    return float(found.group(1))


def _input(count: int) -> tuple[Records, Recount]:
    registry = Registry.load({"17"})
    config = SimConfig(count=count, seed=7, start=date(2022, 1, 1), end=date(2022, 2, 28))
    return simulated(config, registry)


def _stop(*workers: Worker) -> None:
    for worker in workers:
        worker.stop()


# -- settings and ids, no broker ----------------------------------------------------------------


def test_the_default_instance_id_is_stable_per_data_dir_and_distinct_between_them(
    tmp_path: Path,
) -> None:
    one = default_instance_id(tmp_path / "w1", hostname="host-a")
    assert one == default_instance_id(tmp_path / "w1", hostname="host-a")
    assert one == default_instance_id(tmp_path / "x" / ".." / "w1", hostname="host-a")
    assert one != default_instance_id(tmp_path / "w2", hostname="host-a")
    assert one != default_instance_id(tmp_path / "w1", hostname="host-b")
    assert one.startswith("host-a-w1-")
    odd = default_instance_id(tmp_path / "dữ liệu:1", hostname="máy chủ.local")
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,249}", odd)
    # An explicit id wins; an empty one is derived from the data dir.
    assert instance_id(Settings(data_dir=tmp_path / "w1", instance_id="worker-1")) == "worker-1"
    assert instance_id(Settings(data_dir=tmp_path / "w1")) == default_instance_id(tmp_path / "w1")


# -- on the broker ---------------------------------------------------------------------------------


def test_the_membership_settings_reach_the_consumer_faust_creates(
    settings_factory: Callable[..., Any], tmp_path: Path
) -> None:
    settings = settings_factory(data_dir=tmp_path / "in-process", session_timeout_s=9.5)

    async def consumer_kwargs() -> dict[str, Any]:
        app = faust.App(
            "paywatch-membership-test",
            broker=settings.broker,
            autodiscover=False,
            **membership_options(settings),
        )
        # Faust's own factory for the worker's aiokafka consumer (what the worker starts).
        faust_consumer: Any = app.consumer
        consumer = faust_consumer._thread._create_worker_consumer(app.transport)
        return {
            "group_instance_id": consumer._group_instance_id,
            "session_timeout_ms": consumer._session_timeout_ms,
            "heartbeat_interval_ms": consumer._heartbeat_interval_ms,
            "client_id": consumer._client._client_id,
        }

    assert asyncio.run(consumer_kwargs()) == {
        "group_instance_id": instance_id(settings),
        "session_timeout_ms": 9500,
        "heartbeat_interval_ms": int(HEARTBEAT_INTERVAL_S * 1000),
        "client_id": client_id(settings),
    }


@pytest.mark.timeout(600)
def test_a_killed_worker_started_again_takes_its_own_place_back_and_counts_exactly(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    # A long session, so that the restart surely comes before the broker drops the dead member:
    # what is tested is what happens then, not how fast.
    first = settings_factory(data_dir=tmp_path / "a", session_timeout_s=60)
    second = settings_factory(data_dir=tmp_path / "b", session_timeout_s=60)
    records, expected = _input(3000)
    half = len(records) // 2
    expected_half = recount([v for _, v in records[:half]], hoa_binh)
    create_topics(first)
    produce(kafka_bootstrap, first.topic("payments"), records[:half])
    a = Worker(first, tmp_path / "a.log").start()
    b = Worker(second, tmp_path / "b.log")
    try:
        wait_for_group(kafka_bootstrap, first.app_id, lambda ms: len(ms) == 1)
        b.start()
        before = wait_for_group(
            kafka_bootstrap, first.app_id, lambda ms: len(ms) == 2 and all(m.partitions for m in ms)
        )
        a_before, b_before = holder(before, first), holder(before, second)
        assert a_before.client_id == client_id(first) and b_before.client_id == client_id(second)
        # Both count (so each has handled its assignment) before the kill.
        got = wait_for_counters(kafka_bootstrap, first.app_id, expected_half.counters, 300)
        assert_counts(got, expected_half.counters)
        b_rebalances = metric(second, "paywatch_rebalances_total")
        assert b_rebalances >= 1
        a_started = metric(first, "process_start_time_seconds")

        a.kill()
        a.start()
        after = wait_for_group(
            kafka_bootstrap,
            first.app_id,
            lambda ms: len(ms) == 2 and holder(ms, first).member_id != a_before.member_id,
        )
        produce(kafka_bootstrap, first.topic("payments"), records[half:])
        got = wait_for_counters(kafka_bootstrap, first.app_id, expected.counters, 300)
        assert_counts(got, expected.counters)

        # The new process holds the same place: same instance id, same partitions; the other
        # worker kept its own and went through no rebalance.
        assert holder(after, first).partitions == a_before.partitions
        assert holder(after, second) == b_before
        assert metric(second, "paywatch_rebalances_total") == b_rebalances
        # What PaywatchWorkerRestarting counts: the restarted worker shows a new start time.
        assert metric(first, "process_start_time_seconds") > a_started
        assert "waiting up to" not in (tmp_path / "a.log").read_text()
    finally:
        _stop(a, b)


def _second_worker_refused(
    first: Settings, second: Settings, kafka_bootstrap: str, tmp_path: Path
) -> str:
    """Start a worker on ``first``, then one on ``second``: the second must exit with status 1
    while the first keeps its place in the group; the second's log."""
    create_topics(first)
    a = Worker(first, tmp_path / "a.log").start()
    b = Worker(second, tmp_path / "b.log")
    try:
        [member] = wait_for_group(kafka_bootstrap, first.app_id, lambda ms: len(ms) == 1)
        b.start()
        assert b.proc is not None
        assert b.proc.wait(timeout=120) == 1
        # The first worker never lost its place.
        assert group(kafka_bootstrap, first.app_id)[1] == [member]
        assert a.alive
        return (tmp_path / "b.log").read_text()
    finally:
        _stop(a, b)


@pytest.mark.timeout(300)
def test_a_second_live_worker_with_the_same_instance_id_is_refused(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    first = settings_factory(data_dir=tmp_path / "a", instance_id="twin", session_timeout_s=6)
    twin = settings_factory(data_dir=tmp_path / "b", instance_id="twin", session_timeout_s=6)
    log = _second_worker_refused(first, twin, kafka_bootstrap, tmp_path)
    assert "another live worker of group" in log
    assert "PAYWATCH_INSTANCE_ID='twin'" in log
    assert client_id(first) in log


@pytest.mark.timeout(300)
def test_a_second_worker_on_the_same_data_dir_is_refused(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    first = settings_factory(data_dir=tmp_path / "shared")
    same_dir = settings_factory(data_dir=tmp_path / "shared")  # another web port
    log = _second_worker_refused(first, same_dir, kafka_bootstrap, tmp_path)
    assert f"PAYWATCH_DATA_DIR={str(tmp_path / 'shared')!r}" in log


@pytest.mark.timeout(600)
def test_a_worker_back_with_another_web_address_waits_for_its_old_place_and_counts(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    # Faust refuses a place whose previous holder had another web address (its consumer would
    # stop silently); the worker waits for that place to expire and joins afresh instead.
    before = settings_factory(data_dir=tmp_path / "w", session_timeout_s=6)
    after = settings_factory(data_dir=tmp_path / "w", session_timeout_s=6)  # same id, other port
    assert instance_id(before) == instance_id(after) and before.web_port != after.web_port
    records, expected = _input(2000)
    create_topics(before)
    half = len(records) // 2
    produce(kafka_bootstrap, before.topic("payments"), records[:half])
    worker = Worker(before, tmp_path / "before.log").start()
    moved = Worker(after, tmp_path / "after.log")
    try:
        wait_for_group(kafka_bootstrap, before.app_id, lambda ms: len(ms) == 1)
        worker.kill()
        moved.start()
        produce(kafka_bootstrap, before.topic("payments"), records[half:])
        got = wait_for_counters(kafka_bootstrap, before.app_id, expected.counters, 300)
        assert_counts(got, expected.counters)
        assert "waiting up to" in (tmp_path / "after.log").read_text()
        [member] = group(kafka_bootstrap, before.app_id)[1]
        assert member.client_id == client_id(after)
    finally:
        _stop(worker, moved)
