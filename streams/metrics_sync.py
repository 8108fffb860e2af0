"""Once a second, the pipeline's in-process counts go to the Prometheus counters: events by
outcome, dead letters by reason, quarantined records and failed steps by stage, and the delays of
the payments counted since (which also move the event clock)."""

from __future__ import annotations

import logging
from typing import Any

from models.event_clock import EventClock
from sinks.metrics import PipelineMetrics
from sinks.pipeline_metrics import STAGES
from streams.hooks import Stats
from streams.quarantine import FailedSteps

log = logging.getLogger(__name__)


class MetricsSync:
    """Moves what the pipeline counted since the last sync to the metrics (counters only rise,
    so each is raised by the difference to the total it was last given)."""

    def __init__(
        self,
        stats: Stats,
        failed_steps: FailedSteps,
        metrics: PipelineMetrics,
        clock: EventClock,
    ) -> None:
        self.stats = stats
        self.failed_steps = failed_steps
        self.metrics = metrics
        self.clock = clock
        self._synced: dict[str, int] = {}

    def sync(self) -> None:
        stats = self.stats
        self._move("counted", stats.facts)
        self._move("duplicate", stats.duplicates)
        self._move("replayed", stats.replayed)
        self._move("dead_letter", sum(stats.dead_letters.values()))
        for reason, count in stats.dead_letters.items():
            self._move_to(self.metrics.dead_letters.labels(reason), f"dl:{reason}", count)
        for stage, count in stats.quarantined.items():
            self._move_to(self.metrics.quarantined.labels(stage), f"q:{stage}", count)
        for stage in STAGES:
            failures = self.failed_steps.failures(stage)
            self.metrics.step_failures.labels(stage).set(failures)
        future = self.clock.future_events
        while stats.delays:
            event_time_s, record_time_s, counted_at_s = stats.delays.popleft()
            self.clock.saw(event_time_s, counted_at_s)
            self.metrics.event_time_delay.observe(max(0.0, counted_at_s - event_time_s))
            self.metrics.produce_delay.observe(max(0.0, counted_at_s - record_time_s))
        if self.clock.future_events > future:
            self.metrics.future_dated.inc(self.clock.future_events - future)
            log.warning(
                "%d payments dated more than %.0f s after the wall clock were counted (in their "
                "own periods; left out of the current day; docs/event-time.md)",
                self.clock.future_events - future,
                self.clock.future_tolerance_s,
            )

    def _move(self, outcome: str, total: int) -> None:
        self._move_to(self.metrics.events.labels(outcome), outcome, total)

    def _move_to(self, counter: Any, name: str, total: int) -> None:
        seen = self._synced.get(name, 0)
        if total > seen:
            counter.inc(total - seen)
            self._synced[name] = total
