"""The worker's partition metrics: rebalances, the partitions assigned to it per source topic,
and the consumer lag of each one it consumes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sinks.metrics import PipelineMetrics
from streams import seam
from streams.lag import CONSUMED_TOPICS
from streams.settings import Settings


class PartitionMetrics:
    """Of the worker's Faust ``app``: the partitions of the topics it consumes (not the tables'
    changelogs), the same topics `paywatch lag` reads."""

    def __init__(self, settings: Settings, app: Any, metrics: PipelineMetrics) -> None:
        self.settings = settings
        self.app = app
        self.metrics = metrics
        self._lagging: set[tuple[str, str]] = set()

    def _topics(self) -> list[str]:
        return [self.settings.topic(name) for name in CONSUMED_TOPICS]

    def assigned(self, assigned: Iterable[Any]) -> None:
        """A rebalance gave this worker ``assigned`` (topic partitions)."""
        self.metrics.rebalances.inc()
        by_topic: dict[str, int] = {}
        for tp in assigned:
            by_topic[tp.topic] = by_topic.get(tp.topic, 0) + 1
        for topic in self._topics():
            self.metrics.assigned_partitions.labels(topic).set(by_topic.get(topic, 0))

    def update_lag(self) -> None:
        """The consumer lag of every assigned source partition; a partition no longer assigned
        loses its series."""
        consumer = self.app.consumer
        committed_offsets = seam.committed_offsets(consumer)
        try:
            assignment = consumer.assignment()
        except Exception:  # the consumer is not started yet or is rebalancing
            return
        current = set()
        sources = set(self._topics())
        for tp in assignment:
            if tp.topic not in sources:
                continue  # changelog partitions kept as standbys are not consumed work
            committed = committed_offsets.get(tp)
            try:
                end = consumer.highwater(tp)
            except Exception:
                continue
            if end is None:
                continue
            labels = (tp.topic, str(tp.partition))
            current.add(labels)
            self.metrics.consumer_lag.labels(*labels).set(max(0, end - (committed or 0)))
        for labels in self._lagging - current:
            self.metrics.consumer_lag.remove(*labels)
        self._lagging = current
