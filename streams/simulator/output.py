"""Where records go: a JSON Lines file (with its truth beside it) or a Kafka topic.

Both take any iterator of records, pace it to a rate (records/s; 0 = as fast as possible), stop
after a duration if one is given, and report progress through a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from streams.kafka_security import KafkaClientArgs
from streams.simulator.records import SimRecord

__all__ = ["Pacer", "produce_to_kafka", "truth_path", "write_jsonl"]

Progress = Callable[[int], None]


def truth_path(out: Path) -> Path:
    """FILE.jsonl -> FILE.truth.json (beside it)."""
    name = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(name + ".truth.json")


class Pacer:
    """Holds an iterator to ``rate`` records per second and ends it after ``duration_s``
    seconds."""

    def __init__(self, rate: float, duration_s: float | None) -> None:
        self.rate = rate
        self.duration_s = duration_s
        self.started_s = time.monotonic()
        self.sent = 0

    def delay_s(self) -> float:
        """Seconds to wait before the next record (0 when on or behind schedule)."""
        if self.rate <= 0:
            return 0.0
        due_s = self.started_s + self.sent / self.rate
        return max(0.0, due_s - time.monotonic())

    def expired(self) -> bool:
        return self.duration_s is not None and time.monotonic() - self.started_s >= self.duration_s

    def pace(self, records: Iterable[SimRecord]) -> Iterator[SimRecord]:
        for record in records:
            if self.expired():
                return
            wait_s = self.delay_s()
            if wait_s > 0:
                time.sleep(wait_s)
                if self.expired():
                    return
            self.sent += 1
            yield record


def write_jsonl(records: Iterable[SimRecord], out: Path, progress: Progress | None = None) -> int:
    """One record value per line, exactly the bytes a Kafka consumer would see."""
    written = 0
    with out.open("wb") as fh:
        for record in records:
            fh.write(record.value)
            fh.write(b"\n")
            written += 1
            if progress is not None and written % 1000 == 0:
                progress(written)
    if progress is not None:
        progress(written)
    return written


async def ensure_topic(kafka: KafkaClientArgs, topic: str, partitions: int) -> None:
    """Create ``topic`` with ``partitions`` if it does not exist yet."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    try:
        if topic in set(await admin.list_topics()):
            return
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def produce_to_kafka(
    records: Iterable[SimRecord],
    kafka: KafkaClientArgs,
    topic: str,
    *,
    pacer: Pacer,
    partitions: int = 6,
    compression: str | None = None,
    progress: Progress | None = None,
) -> int:
    """Produce ``records`` to ``topic`` (key = transaction id), batched, paced by ``pacer``.

    Returns the number of records the broker acknowledged.
    """
    from aiokafka import AIOKafkaProducer

    await ensure_topic(kafka, topic, partitions)
    producer = AIOKafkaProducer(
        **kafka,
        compression_type=compression,
        linger_ms=20,
        max_batch_size=512 * 1024,
        acks="all",
        enable_idempotence=True,
    )
    await producer.start()
    acked = 0
    try:
        pending: list[asyncio.Future[object]] = []
        for record in records:
            if pacer.expired():
                break
            wait_s = pacer.delay_s()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
                if pacer.expired():
                    break
            pacer.sent += 1
            pending.append(await producer.send(topic, record.value, key=record.key))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                acked += len(pending)
                pending.clear()
                if progress is not None:
                    progress(acked)
        await producer.flush()
        if pending:
            await asyncio.gather(*pending)
            acked += len(pending)
        if progress is not None:
            progress(acked)
    finally:
        await producer.stop()
    return acked
