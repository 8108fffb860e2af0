"""The real broker: a round trip, and Kafka transactions as exactly-once needs them."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


async def _create(bootstrap: str, topic: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1)]
        )
    finally:
        await admin.close()


async def _read_all(bootstrap: str, topic: str, isolation: str, expect: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        isolation_level=isolation,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        loop = asyncio.get_running_loop()
        deadline_s = loop.time() + 20
        while loop.time() < deadline_s:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                values.extend(r.value for r in records if r.value is not None)
            # Let read_committed settle on the last stable offset before deciding.
            if len(values) >= expect and not batch:
                break
    finally:
        await consumer.stop()
    return values


def test_produce_consume_round_trip(kafka_bootstrap: str, unique: str) -> None:
    topic = f"t{unique}.roundtrip"

    async def run() -> list[bytes]:
        await _create(kafka_bootstrap, topic)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(100):
                await producer.send(topic, f"event-{i}".encode(), key=str(i).encode())
            await producer.flush()
        finally:
            await producer.stop()
        return await _read_all(kafka_bootstrap, topic, "read_uncommitted", 100)

    values = asyncio.run(run())
    assert sorted(values) == sorted(f"event-{i}".encode() for i in range(100))


def test_transaction_committed_and_aborted(kafka_bootstrap: str, unique: str) -> None:
    topic = f"t{unique}.tx"

    async def run() -> tuple[list[bytes], list[bytes]]:
        await _create(kafka_bootstrap, topic, partitions=1)
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka_bootstrap, transactional_id=f"tx-{unique}"
        )
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send_and_wait(topic, b"committed-1")
                await producer.send_and_wait(topic, b"committed-2")
            await producer.begin_transaction()
            await producer.send_and_wait(topic, b"aborted")
            await producer.abort_transaction()
            async with producer.transaction():
                await producer.send_and_wait(topic, b"committed-3")
        finally:
            await producer.stop()
        committed = await _read_all(kafka_bootstrap, topic, "read_committed", 3)
        everything = await _read_all(kafka_bootstrap, topic, "read_uncommitted", 4)
        return committed, everything

    committed, everything = asyncio.run(run())
    assert committed == [b"committed-1", b"committed-2", b"committed-3"]
    # The aborted record is in the log; only read_committed consumers skip it.
    assert everything == [b"committed-1", b"committed-2", b"aborted", b"committed-3"]
