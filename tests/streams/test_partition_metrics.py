"""The worker's partition gauges (streams/partition_metrics.py): no broker."""

from __future__ import annotations

from aiokafka import TopicPartition
from prometheus_client import CollectorRegistry

from sinks.pipeline_metrics import PipelineMetrics
from streams.partition_metrics import PartitionMetrics
from streams.settings import Settings


def test_assigned_partitions_count_every_consumed_topic_and_no_changelog() -> None:
    registry = CollectorRegistry()
    partitions = PartitionMetrics(Settings(topic_prefix="t."), None, PipelineMetrics(registry))
    partitions.assigned(
        [
            TopicPartition("t.payments", 0),
            TopicPartition("t.payments", 1),
            TopicPartition("t.payments-bulk", 2),  # replay's backfills: their lag counts too
            TopicPartition("t.unit-deltas", 0),
            TopicPartition("t.paywatch-counters-changelog", 0),
        ]
    )

    def assigned(topic: str) -> float | None:
        return registry.get_sample_value("paywatch_assigned_partitions", {"topic": f"t.{topic}"})

    assert registry.get_sample_value("paywatch_rebalances_total") == 1
    assert assigned("payments") == 2
    assert assigned("payments-bulk") == 1
    assert assigned("payments-by-tx") == 0
    assert assigned("unit-deltas") == 1
    assert assigned("paywatch-counters-changelog") is None
