"""Reading `payments-dlq` back, for `paywatch dead-letters`: every dead letter with its reason,
source position and write time, from a time range, and the original values written out
as a JSON Lines file that `paywatch replay` takes once the cause is fixed.

A reader of its own (no consumer group, nothing committed): it reads each partition from its
start to the end offset it found when it began."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.admin import topic_partitions
from streams.kafka_security import KafkaClientArgs


@dataclass(frozen=True)
class Letter:
    """One dead letter: where it sits in `payments-dlq`, when it was written, and its JSON."""

    partition: int
    offset: int
    written: datetime  # the Kafka record's timestamp, UTC
    doc: dict[str, Any]

    @property
    def reason(self) -> str:
        return str(self.doc.get("reason", "?"))

    def original(self) -> bytes | None:
        """The record's original bytes, or None when only a prefix was kept (or it had none)."""
        if self.doc.get("value_truncated") or self.doc.get("value_null"):
            return None
        return base64.b64decode(self.doc.get("value_b64", ""))

    def as_dict(self) -> dict[str, Any]:
        return {
            "dlq_partition": self.partition,
            "dlq_offset": self.offset,
            "written": self.written.isoformat().replace("+00:00", "Z"),
            **self.doc,
        }


async def read_letters(
    kafka: KafkaClientArgs,
    topic: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AsyncIterator[Letter]:
    """The dead letters of ``topic`` written in [since, until), partition by partition in
    offset order."""
    partitions = (await topic_partitions(kafka, [topic])).get(topic)
    if not partitions:
        raise LookupError(f"topic {topic} does not exist")
    consumer = AIOKafkaConsumer(
        **kafka,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=10_000,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = await consumer.end_offsets(tps)
        consumer.assign(tps)
        if since is not None:
            found = await consumer.offsets_for_times({tp: _epoch_ms(since) for tp in tps})
            for tp in tps:
                at = found.get(tp)
                consumer.seek(tp, at.offset if at is not None else ends[tp])
        else:
            await consumer.seek_to_beginning(*tps)
        left = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while left:
            batches = await consumer.getmany(*left, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        left.discard(tp)
                        break
                    written = datetime.fromtimestamp(record.timestamp / 1000, UTC)
                    if until is not None and written >= until:
                        continue
                    yield Letter(tp.partition, record.offset, written, _doc(record.value))
            for tp in list(left):
                if await consumer.position(tp) >= ends[tp]:
                    left.discard(tp)
    finally:
        await consumer.stop()


def write_originals(letters: list[Letter], out: Path) -> tuple[int, int]:
    """Write the original value of each letter as one line of ``out`` (JSON Lines for
    `paywatch replay`); return (written, left out: kept only in part, not text, or not one line).
    """
    written = skipped = 0
    with out.open("wb") as f:
        for letter in letters:
            value = letter.original()
            if value is None or b"\n" in value or b"\r" in value or not _is_text(value):
                skipped += 1
                continue
            f.write(value + b"\n")
            written += 1
    return written, skipped


def _is_text(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(value.strip())


def _doc(value: bytes | None) -> dict[str, Any]:
    try:
        doc = json.loads(value or b"")
    except ValueError:
        return {"reason": "?", "detail": "not a paywatch dead letter (not JSON)"}
    return doc if isinstance(doc, dict) else {"reason": "?", "detail": "not a paywatch dead letter"}


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
