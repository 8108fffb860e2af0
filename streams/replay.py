"""`paywatch replay FILE`: backfill past payments from a JSON Lines or CSV export.

Every row is validated first (streams/exports.py: the same decoder the stream uses); bad rows
are reported with their line numbers and nothing is produced unless the caller asks to skip
them. Valid rows go
to the ``payments-bulk`` topic, up to 500 events a message (one message through Faust carries
hundreds of events, where ``payments`` carries one), each message to the partition its events'
transaction ids hash to; ingest counts them exactly as if they had come on ``payments``, with
their own event times, so periods come out as they were. Replaying the same file twice changes
no counter: the stream deduplicates by transaction id. With ``--wait`` the command then follows
the workers' commits until every event it sent is counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from models.events import PaymentEvent, encode_event
from streams.ingest import partition_for
from streams.kafka_security import KafkaClientArgs
from streams.wire import BULK_BYTES, BULK_ITEMS, BulkItem, encode

Offsets = dict[int, int]  # partition -> offset


@dataclass
class Sent:
    """What :func:`produce` sent: events per message, by partition and offset."""

    topic: str
    events: dict[tuple[int, int], int] = field(default_factory=dict)

    def counted(self, committed: Offsets) -> int:
        """Events in the messages below the ``committed`` offsets."""
        return sum(n for (p, o), n in self.events.items() if o < committed.get(p, 0))


def messages(
    events: list[PaymentEvent],
    partitions: int,
    max_items: int = BULK_ITEMS,
    max_bytes: int = BULK_BYTES,
) -> Iterator[tuple[int, list[BulkItem]]]:
    """The events as ``payments-bulk`` messages: (partition, items), each message the events of
    one partition (the one the transaction id hashes to, where its record lives), at most
    ``max_items`` events and ``max_bytes`` bytes of keys and values."""
    by_partition: dict[int, list[BulkItem]] = {}
    for event in events:
        item = BulkItem(event.transaction_id.encode(), encode_event(event))
        by_partition.setdefault(partition_for(event.transaction_id, partitions), []).append(item)
    for partition, items in sorted(by_partition.items()):
        chunk: list[BulkItem] = []
        size = 0
        for item in items:
            item_bytes = len(item.raw) + len(item.key or b"")
            if chunk and (len(chunk) >= max_items or size + item_bytes > max_bytes):
                yield partition, chunk
                chunk, size = [], 0
            chunk.append(item)
            size += item_bytes
        if chunk:
            yield partition, chunk


def _bar(console: Console, progress: bool, what: str) -> Progress:
    columns = (
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.0f} events/s"),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console, disable=not progress)


async def produce(
    events: list[PaymentEvent],
    kafka: KafkaClientArgs,
    topic: str,
    partitions: int,
    console: Console,
    progress: bool,
    sent: Sent | None = None,
) -> Sent:
    """Send ``events`` to ``topic`` (``payments-bulk``) as :func:`messages`, noting each
    acknowledged message in ``sent`` (so an interrupted caller knows what went)."""
    producer = AIOKafkaProducer(
        **kafka,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=256 * 1024,
    )
    sent = Sent(topic) if sent is None else sent
    await producer.start()
    try:
        with _bar(console, progress, "sent   ") as bar:
            task = bar.add_task("sent", total=len(events), rate=0.0)
            started_s = asyncio.get_running_loop().time()
            pending: list[tuple[int, Any]] = []
            done = 0
            for partition, items in messages(events, partitions):
                ack = await producer.send(topic, encode(items), partition=partition)
                pending.append((len(items), ack))
                if len(pending) >= 20:
                    done += await _settle(pending, sent)
                    elapsed_s = asyncio.get_running_loop().time() - started_s
                    bar.update(task, completed=done, rate=done / elapsed_s if elapsed_s else 0.0)
            done += await _settle(pending, sent)
            elapsed_s = asyncio.get_running_loop().time() - started_s
            bar.update(task, completed=done, rate=done / elapsed_s if elapsed_s else 0.0)
    finally:
        await producer.stop()
    return sent


async def _settle(pending: list[tuple[int, Any]], sent: Sent) -> int:
    """Wait for the acknowledgements of ``pending`` (emptied), noting each message's place."""
    metas = await asyncio.gather(*(ack for _, ack in pending))
    count = 0
    for (n, _), meta in zip(pending, metas, strict=True):
        sent.events[(meta.partition, meta.offset)] = n
        count += n
    pending.clear()
    return count


async def wait_counted(
    sent: Sent,
    kafka: KafkaClientArgs,
    group: str,
    downstream: list[str],
    partitions: int,
    console: Console,
    progress: bool,
    poll_s: float = 0.5,
) -> None:
    """Wait until the workers (consumer group ``group``) have counted every event ``sent``:
    ingest has committed every message sent, then each later stage's topic (``downstream``, in
    pipeline order, each with ``partitions`` partitions) has been committed up to where it
    ended once the stage before was done.
    A worker commits a message only after the state and outputs it made are written, so then
    every sent event is in the counters."""
    admin = AIOKafkaAdminClient(**kafka)
    consumer = AIOKafkaConsumer(**kafka)
    await admin.start()
    await consumer.start()
    try:

        async def committed(topic: str) -> Offsets:
            try:
                offsets = await admin.list_consumer_group_offsets(group)
            except KafkaError as exc:
                if not exc.retriable:
                    raise
                return {}  # no coordinator yet (a fresh cluster): nothing is committed
            return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}

        total = sum(sent.events.values())
        with _bar(console, progress, "counted") as bar:
            task = bar.add_task("counted", total=total, rate=0.0)
            started_s = asyncio.get_running_loop().time()
            while True:
                done = sent.counted(await committed(sent.topic))
                elapsed_s = asyncio.get_running_loop().time() - started_s
                bar.update(task, completed=done, rate=done / elapsed_s if elapsed_s else 0.0)
                if done >= total:
                    break
                await asyncio.sleep(poll_s)
            for topic in downstream:
                tps = [TopicPartition(topic, p) for p in range(partitions)]
                ends = {tp.partition: o for tp, o in (await consumer.end_offsets(tps)).items()}
                while any(o < ends[p] for p, o in _filled(await committed(topic), ends).items()):
                    await asyncio.sleep(poll_s)
    finally:
        await consumer.stop()
        await admin.close()


def _filled(committed: Offsets, ends: Offsets) -> Offsets:
    """``committed`` with 0 for every partition of ``ends`` the group has not committed."""
    return {p: committed.get(p, 0) for p in ends}
