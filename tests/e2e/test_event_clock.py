"""The current day of a real worker (docs/event-time.md): a 2022 backfill holding one payment
dated June 2023 and one dated two days after the wall clock keeps its year/month/day gauges
on 2022; both payments are counted in their own periods, the future-dated one is flagged."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.event_decode import decode_event
from models.periods import VN_TZ
from models.registry import Registry
from streams.simulator import SimConfig, generate
from tests.e2e.sink_checks import scrape, window_gauges
from tests.recount import recount
from tests.streams.stream_harness import (
    Worker,
    assert_counts,
    create_topics,
    produce,
    wait_for_counters,
)


def _payment_like(value: bytes, name: str, when: str, **more: str) -> tuple[bytes, bytes]:
    doc = json.loads(value)
    doc.update(transaction_id=f"TX-{name}", dossier_code=f"DOSSIER-{name}", event_time=when)
    doc.update(more)
    return doc["transaction_id"].encode(), json.dumps(doc).encode()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_an_outlier_and_a_future_dated_payment_leave_the_gauges_on_the_backfill(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    # Hòa Bình (17) until the 2025 reform; its commune code 04795 is Phú Thọ's (25) after it.
    registry = Registry.load({"17", "25"})
    config = SimConfig(count=3000, seed=31, start=date(2022, 11, 1), end=date(2022, 12, 31))
    records: list[tuple[bytes | None, bytes]] = [
        (r.key, r.value) for r in generate(config, registry)
    ]
    template = next(v for _, v in records if b'"payment"' in v and _valid(v))
    future = datetime.now(UTC).astimezone(VN_TZ) + timedelta(days=2)
    records.append(_payment_like(template, "OUTLIER", "2023-06-01T10:00:00+07:00"))
    when = future.isoformat(timespec="seconds")
    records.append(_payment_like(template, "FUTURE", when, unit_code="04795"))
    expected = recount([v for _, v in records], registry)
    assert ("17", "2023") in expected.counters and ("25", str(future.year)) in expected.counters

    settings = settings_factory(processing_guarantee="at_least_once", provinces="17,25")
    create_topics(settings)
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        produce(kafka_bootstrap, settings.topic("payments"), records)
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 600)
        assert_counts(got, expected.counters)
        # The gauges follow the clock, fed once a second from the counted payments.
        want = {(window, "all"): _net(expected.counters[("17", period)]) for window, period in (
            ("year", "2022"), ("month", "2022-12"), ("day", "2022-12-31"))}  # fmt: skip
        deadline_s = time.monotonic() + 60
        while True:
            samples = scrape(settings.web_port)
            flagged = samples.get(("paywatch_future_dated_events_total", ()), 0.0)
            gauges = {k[1:]: v for k, v in window_gauges(samples).items() if k[0] == "17"}
            shown = {k: gauges.get(k) for k in want}
            if (flagged, shown) == (1, want) or time.monotonic() > deadline_s:
                break
            time.sleep(1)
        assert flagged == 1
        assert shown == want
    finally:
        worker.stop()


def _net(fields: dict[str, int]) -> float:
    return float(fields["paid"] - fields["reversed"])


def _valid(value: bytes) -> bool:
    try:
        decode_event(value)
    except ValueError:
        return False
    return True
