"""Consumer lag of a paywatch consumer group, read from the broker (committed offsets and end
offsets per partition), for `paywatch lag`: Kafka's own kafka-consumer-groups.sh is not part of
the jars-only local stack."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.admin import topic_partitions
from streams.kafka_security import KafkaClientArgs

#: The topics a worker consumes, in pipeline order.
CONSUMED_TOPICS = (
    "payments",
    "payments-bulk",
    "payments-by-tx",
    "payments-by-dossier",
    "unit-deltas",
)


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group has committed nothing on this partition
    end: int
    lag: int  # end − committed, or end − the log's start when nothing is committed

    def as_dict(self) -> dict[str, object]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "committed": self.committed,
            "end": self.end,
            "lag": self.lag,
        }


async def consumer_lag(kafka: KafkaClientArgs, group: str, topics: list[str]) -> list[PartitionLag]:
    """The lag of ``group`` on every partition of ``topics`` (a topic that does not exist is
    left out), sorted by topic order then partition."""
    existing = await topic_partitions(kafka, topics)
    known = {t: existing[t] for t in topics if t in existing}
    admin = AIOKafkaAdminClient(**kafka, request_timeout_ms=10_000)
    consumer = AIOKafkaConsumer(**kafka, request_timeout_ms=10_000)
    await admin.start()
    try:
        await consumer.start()
        try:
            try:
                offsets = await admin.list_consumer_group_offsets(group)
            except KafkaError as exc:
                if not exc.retriable:
                    raise
                offsets = {}  # no group coordinator yet: nothing committed
            committed = {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}
            tps = [TopicPartition(t, p) for t, ps in known.items() for p in ps]
            if not tps:
                return []
            ends = await consumer.end_offsets(tps)
            starts = await consumer.beginning_offsets(tps)
        finally:
            await consumer.stop()
    finally:
        await admin.close()
    rows = []
    for tp in tps:
        done = committed.get((tp.topic, tp.partition))
        if done is not None and done < 0:
            done = None
        end = ends[tp]
        lag = end - (done if done is not None else starts[tp])
        rows.append(PartitionLag(tp.topic, tp.partition, done, end, max(lag, 0)))
    return rows
