"""`paywatch lag`: the consumer group's lag per topic and partition, from a real broker."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from streams.admin import ensure_topics
from tests.processes import paywatch

ROOT = Path(__file__).resolve().parents[2]


def _env(settings: Any) -> dict[str, str]:
    return {
        **os.environ,
        "PAYWATCH_BROKER": settings.broker,
        "PAYWATCH_TOPIC_PREFIX": settings.topic_prefix,
        "PAYWATCH_APP_ID": settings.app_id,
        "PAYWATCH_PARTITIONS": str(settings.partitions),
    }


async def _fill_and_commit(settings: Any, sent: dict[int, int], committed: dict[int, int]) -> None:
    """``sent[p]`` records to partition p of `payments`; the group commits ``committed[p]``."""
    await ensure_topics(settings)
    topic = settings.topic("payments")
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for partition, count in sent.items():
            for i in range(count):
                await producer.send(topic, b"{}", key=f"k{i}".encode(), partition=partition)
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.app_id,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in committed])
        await consumer.commit(
            {TopicPartition(topic, p): OffsetAndMetadata(o, "") for p, o in committed.items()}
        )
    finally:
        await consumer.stop()


def test_lag_per_partition_and_topic(settings_factory: Callable[..., Any]) -> None:
    settings = settings_factory(partitions=3)
    asyncio.run(_fill_and_commit(settings, {0: 5, 1: 3, 2: 4}, {0: 2, 1: 3}))
    result = paywatch("lag", "--json", env=_env(settings))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["group"] == settings.app_id
    payments = [p for p in doc["partitions"] if p["topic"] == settings.topic("payments")]
    assert payments == [
        {"topic": settings.topic("payments"), "partition": 0, "committed": 2, "end": 5, "lag": 3},
        {"topic": settings.topic("payments"), "partition": 1, "committed": 3, "end": 3, "lag": 0},
        # nothing committed: the whole partition is behind
        {
            "topic": settings.topic("payments"),
            "partition": 2,
            "committed": None,
            "end": 4,
            "lag": 4,
        },
    ]
    # payments-bulk was created too; the internal topics do not exist yet and are left out.
    assert {p["topic"] for p in doc["partitions"]} == {
        settings.topic("payments"),
        settings.topic("payments-bulk"),
    }
    table = paywatch("lag", env=_env(settings))
    assert table.returncode == 0, table.stderr
    row = next(
        line for line in table.stdout.splitlines() if f"{settings.topic('payments')} " in line
    )
    assert [c.strip() for c in row.split("│")[2:6]] == ["3", "5", "12", "7"]
    assert "total lag: 7 messages" in table.stdout


def test_an_unreachable_broker_is_a_message(settings_factory: Callable[..., Any]) -> None:
    settings = settings_factory(broker="kafka://127.0.0.1:1")
    result = paywatch("lag", env=_env(settings))
    assert result.returncode == 2
    assert "cannot read the consumer group from the broker at 127.0.0.1:1" in result.stderr
    assert "PAYWATCH_BROKER" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Unable connect" not in result.stderr + result.stdout  # aiokafka's own line
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
