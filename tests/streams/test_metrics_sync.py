"""The once-a-second move of the pipeline's in-process counts to the Prometheus metrics
(streams/metrics_sync.py), on a real registry: no broker."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from models.event_clock import EventClock
from sinks.pipeline_metrics import PipelineMetrics
from streams.hooks import Stats
from streams.metrics_sync import MetricsSync
from streams.quarantine import FailedSteps


def _sync(tmp_path: Path) -> tuple[MetricsSync, Stats, FailedSteps, CollectorRegistry]:
    registry = CollectorRegistry()
    stats, failed = Stats(), FailedSteps(tmp_path / "failed-steps.json", limit=3)
    sync = MetricsSync(stats, failed, PipelineMetrics(registry), EventClock())
    return sync, stats, failed, registry


def test_counters_rise_by_what_was_counted_since_the_last_sync(tmp_path: Path) -> None:
    sync, stats, failed, registry = _sync(tmp_path)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    stats.facts, stats.duplicates = 10, 2
    stats.dead_letters["malformed_json"] = 3
    stats.quarantined["tally"] = 1
    failed.failed("dossier", [("unit-deltas", 0, 5)])
    sync.sync()
    stats.facts = 25
    stats.dead_letters["unknown_unit"] = 1
    sync.sync()
    sync.sync()  # nothing new: nothing moves
    assert value("paywatch_events_total", outcome="counted") == 25
    assert value("paywatch_events_total", outcome="duplicate") == 2
    assert value("paywatch_events_total", outcome="dead_letter") == 4
    assert value("paywatch_dead_letters_total", reason="malformed_json") == 3
    assert value("paywatch_dead_letters_total", reason="unknown_unit") == 1
    assert value("paywatch_quarantined_records_total", stage="tally") == 1
    assert value("paywatch_step_failures_in_a_row", stage="dossier") == 1
    assert value("paywatch_step_failures_in_a_row", stage="tally") == 0


def test_delays_feed_the_histograms_and_the_clock_and_future_events_are_flagged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync, stats, _, registry = _sync(tmp_path)
    now_s = time.time()
    stats.delays.append((now_s - 30, now_s - 0.5, now_s))
    stats.delays.append((now_s + 3600, now_s, now_s))  # an hour ahead: over the 600 s allowed
    with caplog.at_level(logging.WARNING, logger="streams.metrics_sync"):
        sync.sync()
    assert not stats.delays
    assert registry.get_sample_value("paywatch_event_time_delay_seconds_count") == 2
    assert registry.get_sample_value("paywatch_event_time_delay_seconds_sum") == pytest.approx(30)
    assert registry.get_sample_value("paywatch_produce_delay_seconds_sum") == pytest.approx(0.5)
    assert registry.get_sample_value("paywatch_future_dated_events_total") == 1
    assert sync.clock.known
    assert [r.getMessage() for r in caplog.records] == [
        "1 payments dated more than 600 s after the wall clock were counted (in their own "
        "periods; left out of the current day; docs/event-time.md)"
    ]
