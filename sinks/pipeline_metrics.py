"""Pipeline health metrics: the Counter/Histogram/Gauge objects the stream and the sinks update.

All live on one :class:`prometheus_client.CollectorRegistry` given by the caller (never the
global default: registering twice in one process fails). Label values are bounded: outcomes,
dead-letter reasons (EventError.reason codes and the counting rules' reasons), topics and
partitions, sink names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from sinks.redis_view import SinkObserver

__all__ = ["OUTCOMES", "PipelineMetrics"]

OUTCOMES: Final = ("counted", "duplicate", "replayed", "dead_letter")
#: The agents (stages) of the pipeline, as metric label values.
STAGES: Final = ("ingest", "dossier", "tally")

#: Event time -> counted: seconds for live traffic up to weeks for late events and replays.
EVENT_DELAY_BUCKETS: Final = (
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400,
)  # fmt: skip
#: Kafka record timestamp -> counted: the pipeline's own latency.
PRODUCE_DELAY_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
)  # fmt: skip
FLUSH_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class PipelineMetrics(SinkObserver):
    """The pipeline metrics of one worker, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events = Counter(
            "paywatch_events",
            "Payment records processed, by outcome (counted; duplicate: sent again by the portal; "
            "replayed: read again after a restart; dead_letter).",
            ["outcome"],
            registry=registry,
        )
        for outcome in OUTCOMES:
            self.events.labels(outcome)
        self.dead_letters = Counter(
            "paywatch_dead_letters",
            "Records sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self.quarantined = Counter(
            "paywatch_quarantined_records",
            "Records the crash-loop guard sent to the dead letters because their step, replayed "
            "one record at a time, failed on them alone; by stage.",
            ["stage"],
            registry=registry,
        )
        self.step_failures = Gauge(
            "paywatch_step_failures_in_a_row",
            "How many times in a row the last failed step of a stage failed before this worker "
            "started (0: none waiting to be replayed); by stage.",
            ["stage"],
            registry=registry,
        )
        for stage in STAGES:
            self.quarantined.labels(stage)
            self.step_failures.labels(stage)
        self.event_time_delay = Histogram(
            "paywatch_event_time_delay_seconds",
            "Delay from a payment's event time to the moment it was counted.",
            buckets=EVENT_DELAY_BUCKETS,
            registry=registry,
        )
        self.future_dated = Counter(
            "paywatch_future_dated_events",
            "Payments counted whose event time was more than PAYWATCH_FUTURE_TOLERANCE_S after "
            "the wall clock: counted in their own periods, left out of the current day.",
            registry=registry,
        )
        self.produce_delay = Histogram(
            "paywatch_produce_delay_seconds",
            "Delay from the Kafka record timestamp to the moment it was counted.",
            buckets=PRODUCE_DELAY_BUCKETS,
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "paywatch_consumer_lag_messages",
            "Messages between the committed offset and the end of each assigned partition.",
            ["topic", "partition"],
            registry=registry,
        )
        self.rebalances = Counter(
            "paywatch_rebalances",
            "Consumer group rebalances this worker went through.",
            registry=registry,
        )
        self.assigned_partitions = Gauge(
            "paywatch_assigned_partitions",
            "Partitions currently assigned to this worker, by topic.",
            ["topic"],
            registry=registry,
        )
        self.sink_errors = Counter(
            "paywatch_sink_errors",
            "Failed sink flushes (each is retried with backoff), by sink.",
            ["sink"],
            registry=registry,
        )
        self.sink_pending = Gauge(
            "paywatch_sink_pending_updates",
            "Distinct (unit, period) updates waiting to be written, by sink.",
            ["sink"],
            registry=registry,
        )
        self.sink_lag = Gauge(
            "paywatch_sink_lag_seconds",
            "Age of the oldest update not yet written, by sink (0 when all is written).",
            ["sink"],
            registry=registry,
        )
        self.sink_flush = Histogram(
            "paywatch_sink_flush_duration_seconds",
            "Duration of one successful sink flush batch, by sink.",
            ["sink"],
            buckets=FLUSH_BUCKETS,
            registry=registry,
        )
        self.sink_writes = Counter(
            "paywatch_sink_writes",
            "(unit, period) keys written by successful flushes, by sink.",
            ["sink"],
            registry=registry,
        )

    # -- SinkObserver -------------------------------------------------------------------------
    def sink_error(self, sink: str) -> None:
        self.sink_errors.labels(sink).inc()

    def sink_flushed(self, sink: str, keys: int, seconds: float) -> None:
        self.sink_flush.labels(sink).observe(seconds)
        self.sink_writes.labels(sink).inc(keys)

    def watch_sink(self, sink: str, pending: Callable[[], float], lag: Callable[[], float]) -> None:
        """Read a sink's pending count and lag at scrape time (and show its error count at 0)."""
        self.sink_errors.labels(sink)
        self.sink_writes.labels(sink)
        self.sink_pending.labels(sink).set_function(pending)
        self.sink_lag.labels(sink).set_function(lag)
