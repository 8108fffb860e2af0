"""Small deterministic cases on the real broker, one `paywatch worker` subprocess, RocksDB."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import urllib.request
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.registry import Registry
from streams.kafka_security import client_args
from streams.lag import consumer_lag
from streams.settings import Settings
from tests.events import event_record, small_cases
from tests.recount import recount
from tests.streams.stream_harness import (
    Worker,
    assert_counts,
    create_topics,
    get_page,
    produce,
    produce_in_transactions,
    read_dead_letters,
    read_table,
    wait_for_counters,
)

COMMUNE = "04789"  # a commune of TP Hòa Bình (148), province 17
OTHER_COMMUNE = "04792"
DEPT = "17.SCT"


@pytest.mark.timeout(300)
def test_small_cases_exact(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    settings = settings_factory(partitions=3, processing_guarantee="at_least_once")
    create_topics(settings)
    records = small_cases()
    expected = recount([v for _, v in records], hoa_binh)
    assert expected.counters[(COMMUNE, "2022-01-01")]["paid"] == 1  # the year-end case
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        positions = produce(kafka_bootstrap, settings.topic("payments"), records)
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 120)
        assert_counts(got, expected.counters)
        url = f"http://127.0.0.1:{settings.web_port}/counters/?unit={COMMUNE},{DEPT}&period=2022"
        with urllib.request.urlopen(url, timeout=10) as answer:
            shown = json.load(answer)
        assert shown == {
            f"{code}|2022": expected.counters[(code, "2022")] for code in (COMMUNE, DEPT)
        }
        dead = read_dead_letters(kafka_bootstrap, settings.topic("payments-dlq"))
        index = {pos: i for i, pos in enumerate(positions)}
        seen = sorted({(index[(d["partition"], d["offset"])], d["reason"]) for d in dead})
        assert seen == expected.dead_letters
        malformed = next(d for d in dead if d["reason"] == "malformed_json")
        assert base64.b64decode(malformed["value_b64"]) == b"{not json"
        assert malformed["topic"] == settings.topic("payments")
    finally:
        worker.stop()


@pytest.mark.timeout(300)
def test_a_transactional_producers_markers_are_passed(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    """Payments from a producer that commits a transaction every few records: the markers
    leave offsets without records in each partition, which the stages pass (after one look
    back) instead of waiting for them; counts exact, every payment's offset committed."""
    settings = settings_factory(partitions=3)
    create_topics(settings)
    records = small_cases()
    expected = recount([v for _, v in records], hoa_binh)
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        positions = produce_in_transactions(
            kafka_bootstrap, settings.topic("payments"), records, per_transaction=3
        )
        offsets = sorted(offset for partition, offset in positions if partition == 0)
        assert any(b - a > 1 for a, b in itertools.pairwise(offsets))  # gaps
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 120)
        assert_counts(got, expected.counters)
        status, stats = get_page(settings, "/stats/")
        assert status == 200 and stats["out_of_order"] > 0  # each gap was looked back over
        last = {p: max(o for q, o in positions if q == p) for p, _ in positions}
        assert _committed_within(settings, "payments", 60) == {p: o + 1 for p, o in last.items()}
    finally:
        worker.stop()


def _committed_within(settings: Settings, topic: str, timeout_s: float) -> dict[int, int | None]:
    """The group's committed offsets on ``topic`` once they stop moving (or at the timeout)."""
    deadline_s = time.monotonic() + timeout_s
    seen: dict[int, int | None] = {}
    while time.monotonic() < deadline_s:
        rows = asyncio.run(
            consumer_lag(client_args(settings), settings.app_id, [settings.topic(topic)])
        )
        now = {r.partition: r.committed for r in rows}
        if now == seen and all(r.lag <= 1 for r in rows):
            return now
        seen = now
        time.sleep(2)
    return seen


def _live_txns(bootstrap: str, app_id: str) -> set[str]:
    return {k.decode() for k, v in read_table(bootstrap, app_id, "txns").items() if v is not None}


@pytest.mark.timeout(300)
def test_dedup_records_older_than_the_retention_are_purged(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    """Retention 10 days, one partition, a payment a day for 40 days: the purge runs every 5
    event days and keeps records between 10 and 15 days behind the newest; the counts stay
    whole."""
    settings = settings_factory(partitions=1, dedup_retention_days=10, batch_size=1)
    create_topics(settings)
    start = date(2022, 3, 1)
    days = [start + timedelta(days=i) for i in range(40)]
    records = [
        event_record(f"d{i:02d}", event_time=f"{d.isoformat()}T10:00:00+07:00")
        for i, d in enumerate(days)
    ]
    expected = recount([v for _, v in records], hoa_binh)
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        produce(kafka_bootstrap, settings.topic("payments"), records)
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 120)
        assert_counts(got, expected.counters)
        live = _live_txns(kafka_bootstrap, settings.app_id)
        kept = sorted(int(tx[1:]) for tx in live)
        assert kept[-1] == 39  # the newest is kept
        assert 39 - 15 <= kept[0] <= 39 - 10  # nothing older than 15 days, all of the last 10
        assert kept == list(range(kept[0], 40))
    finally:
        worker.stop()
