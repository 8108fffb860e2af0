"""Small deterministic cases on the real broker, one `paywatch worker` subprocess, RocksDB."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.registry import Registry
from tests.recount import recount
from tests.streams.stream_harness import (
    Worker,
    create_topics,
    diff,
    produce,
    read_dead_letters,
    read_table,
    wait_for_counters,
)

COMMUNE = "04789"  # a commune of TP Hòa Bình (148), province 17
OTHER_COMMUNE = "04792"
DEPT = "17.SCT"


def ev(tx: str, **over: Any) -> tuple[bytes, bytes]:
    doc: dict[str, Any] = {
        "schema_version": 1,
        "transaction_id": tx,
        "kind": "payment",
        "dossier_code": "D-" + tx,
        "procedure_code": "1.000001",
        "unit_code": COMMUNE,
        "channel": "online_portal",
        "provider": "vnpay",
        "amount": 50_000,
        "fee_type": "le_phi",
        "event_time": "2022-03-01T10:00:00+07:00",
    }
    doc.update(over)
    doc = {k: v for k, v in doc.items() if v is not None}
    return tx.encode(), json.dumps(doc).encode()


def cases() -> list[tuple[bytes | None, bytes]]:
    offline = {"channel": "offline_cash", "provider": None}
    return [
        ev("p1"),  # plain online payment
        ev("p1"),  # exact duplicate
        ev("p1", amount=60_000),  # conflict
        (b"bad", b"{not json"),  # malformed
        ev("p2", unit_code="99999"),  # unknown unit
        ev("p3", dossier_code="D-x", **offline),  # offline payment in dossier D-x
        ev("r3", kind="refund", reverses="p3", dossier_code="D-x", **offline),  # refund after
        ev("r4", kind="cancellation", reverses="p4", dossier_code="D-y", **offline),  # before
        ev("p4", dossier_code="D-y", unit_code=DEPT, amount=10_000),  # its payment
        ev("r4b", kind="refund", reverses="p4", dossier_code="D-y", **offline),  # 2nd reversal
        ev("r5", kind="refund", reverses="r3", dossier_code="D-x", **offline),  # reverses a refund
        ev("p6", dossier_code="D-z", event_time="2022-06-01T08:00:00+07:00"),
        ev("r6", kind="refund", reverses="p6", dossier_code="D-other", **offline),  # other dossier
        ev("p7", event_time="2021-12-31T23:30:00Z", **offline),  # 2022-01-01 in Vietnam
        ev("p8", dossier_code="D-z", event_time="2022-01-15T08:00:00+07:00", **offline),  # late
        ev("p9", dossier_code="D-z", amount=0, event_time="2021-01-01T08:00:00+07:00"),  # free
        ev("p10", dossier_code="D-0", amount=0),  # a dossier of zero fees: counts nowhere
    ]


@pytest.mark.timeout(300)
def test_small_cases_exact(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = settings_factory(partitions=3, processing_guarantee="at_least_once")
    create_topics(settings)
    records = cases()
    expected = recount([v for _, v in records], Registry.load({"17"}))
    assert expected.counters[(COMMUNE, "2022-01-01")]["paid"] == 1  # the year-end case
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        positions = produce(kafka_bootstrap, settings.topic("payments"), records)
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 120)
        assert got == expected.counters, "\n".join(diff(expected.counters, got))
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


def _live_txns(bootstrap: str, app_id: str) -> set[str]:
    return {k.decode() for k, v in read_table(bootstrap, app_id, "txns").items() if v is not None}


@pytest.mark.timeout(300)
def test_dedup_records_older_than_the_retention_are_purged(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Retention 10 days, one partition, a payment a day for 40 days: the purge runs every 5
    event days and keeps records between 10 and 15 days behind the newest; the counts stay
    whole."""
    settings = settings_factory(partitions=1, dedup_retention_days=10, batch_size=1)
    create_topics(settings)
    start = date(2022, 3, 1)
    days = [start + timedelta(days=i) for i in range(40)]
    records = [
        ev(f"d{i:02d}", event_time=f"{d.isoformat()}T10:00:00+07:00") for i, d in enumerate(days)
    ]
    expected = recount([v for _, v in records], Registry.load({"17"}))
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        produce(kafka_bootstrap, settings.topic("payments"), records)
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 120)
        assert got == expected.counters, "\n".join(diff(expected.counters, got))
        live = _live_txns(kafka_bootstrap, settings.app_id)
        kept = sorted(int(tx[1:]) for tx in live)
        assert kept[-1] == 39  # the newest is kept
        assert 39 - 15 <= kept[0] <= 39 - 10  # nothing older than 15 days, all of the last 10
        assert kept == list(range(kept[0], 40))
    finally:
        worker.stop()
