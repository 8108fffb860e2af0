"""`payments-bulk` (what `paywatch replay` sends): many events a message, counted exactly as if
each had come alone on `payments`, a bad event dead-lettered alone, on the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from models.registry import Registry
from streams.wire import BulkItem, encode, position
from tests.events import small_cases
from tests.recount import recount
from tests.streams.stream_harness import (
    Worker,
    assert_counts,
    create_topics,
    read_dead_letters,
    wait_for_counters,
)


async def _send(bootstrap: str, topic: str, messages: list[tuple[int, bytes]]) -> list[int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sent = [await producer.send(topic, value, partition=p) for p, value in messages]
        return [(await ack).offset for ack in sent]
    finally:
        await producer.stop()


@pytest.mark.timeout(300)
def test_bulk_messages_count_like_single_events_and_isolate_bad_ones(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    settings = settings_factory(partitions=3)
    create_topics(settings)
    records = small_cases()  # duplicates, a conflict, malformed JSON, reversals in both orders
    expected = recount([v for _, v in records], hoa_binh)
    items = [BulkItem(key, value) for key, value in records]
    topic = settings.topic("payments-bulk")
    # One message holds them all, in partition 0: most belong to other partitions (rerouted).
    messages = [(0, encode(items)), (1, b"\xc1 not a message")]
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        offsets = asyncio.run(_send(kafka_bootstrap, topic, messages))
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 120)
        assert_counts(got, expected.counters)
        dead = read_dead_letters(kafka_bootstrap, settings.topic("payments-dlq"))
        assert {d["topic"] for d in dead} == {topic}
        places = {position(offsets[0], i): i for i in range(len(items))}
        per_item = sorted((places[d["offset"]], d["reason"]) for d in dead if d["partition"] == 0)
        assert per_item == expected.dead_letters
        [whole] = [d for d in dead if d["partition"] == 1]
        assert (whole["offset"], whole["reason"]) == (offsets[1], "unreadable")
    finally:
        worker.stop()


@pytest.mark.timeout(300)
def test_steps_cut_short_by_their_bytes_count_exactly(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    """With PAYWATCH_STEP_MAX_BYTES at its least every step of every stage holds a message or
    a few: the counts are the same."""
    settings = settings_factory(partitions=3, step_max_bytes=1024)
    create_topics(settings)
    records = small_cases()
    expected = recount([v for _, v in records], hoa_binh)
    items = [BulkItem(key, value) for key, value in records]
    topic = settings.topic("payments-bulk")
    messages = [(i % 3, encode(items[i : i + 4])) for i in range(0, len(items), 4)]
    worker = Worker(settings, tmp_path / "worker.log").start()
    try:
        asyncio.run(_send(kafka_bootstrap, topic, messages))
        got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 120)
        assert_counts(got, expected.counters)
    finally:
        worker.stop()
