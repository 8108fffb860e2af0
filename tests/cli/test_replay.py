"""`paywatch replay`: validate first, report bad rows by line, then produce to the real broker."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console

from models.event_decode import decode_event
from models.events import encode_event
from streams.admin import ensure_topics
from streams.exports import validate
from streams.ingest import partition_for
from streams.kafka_security import client_args
from streams.replay import Sent, messages, wait_counted
from streams.wire import BULK, BULK_ITEMS, BulkItem
from tests.processes import paywatch

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "deploy" / "samples"


def _env(settings: Any) -> dict[str, str]:
    return {
        **os.environ,
        "PAYWATCH_BROKER": settings.broker,
        "PAYWATCH_TOPIC_PREFIX": settings.topic_prefix,
    }


def test_csv_and_jsonl_samples_hold_the_same_events() -> None:
    from_csv = validate(SAMPLES / "payments-export.csv")
    from_jsonl = validate(SAMPLES / "payments-export.jsonl")
    assert from_csv.bad == from_jsonl.bad == []
    assert from_csv.events == from_jsonl.events
    assert [e.transaction_id for e in from_csv.events] == [
        "HB-2022-000001",
        "HB-2022-000002",
        "HB-2022-000003",
    ]


def test_bad_rows_are_reported_by_line_and_nothing_is_produced(
    tmp_path: Path, settings_factory: Callable[..., Any]
) -> None:
    good = (SAMPLES / "payments-export.jsonl").read_text().splitlines()
    negative = json.loads(good[1]) | {"amount": -5}
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join([good[0], "{not json", json.dumps(negative), good[2]]) + "\n")
    settings = settings_factory()
    result = paywatch("replay", str(export), "--no-progress", env=_env(settings))
    assert result.returncode == 1
    assert f"{export}:2: payload is not valid JSON" in result.stderr
    assert f"{export}:3: field 'amount' = -5" in result.stderr
    assert "4 rows: 2 valid, 2 bad" in result.stdout
    assert "nothing produced" in result.stderr


def test_csv_bad_cell_names_line_field_and_value(tmp_path: Path) -> None:
    lines = (SAMPLES / "payments-export.csv").read_text().splitlines()
    lines[2] = lines[2].replace(",100000,", ",mot tram,")
    export = tmp_path / "export.csv"
    export.write_text("\n".join(lines) + "\n")
    checked = validate(export)
    assert [(b.line, b.reason) for b in checked.bad] == [(3, "wrong_type")]
    assert "'amount'" in checked.bad[0].message and "mot tram" in checked.bad[0].message


def test_replay_sends_every_valid_row_in_bulk_messages_by_home_partition(
    tmp_path: Path, settings_factory: Callable[..., Any], kafka_bootstrap: str
) -> None:
    settings = settings_factory()
    env = _env(settings) | {"PAYWATCH_PARTITIONS": str(settings.partitions)}
    paywatch("topics", env=env, check=True)
    export = tmp_path / "export.jsonl"
    export.write_text((SAMPLES / "payments-export.jsonl").read_text() + "{broken\n")
    result = paywatch("replay", str(export), "--skip-bad", "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    bulk = settings.topic("payments-bulk")
    assert f"produced 3 events to {bulk}" in result.stdout

    async def read() -> list[tuple[int, list[BulkItem]]]:
        consumer = AIOKafkaConsumer(
            bulk,
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        got: list[tuple[int, list[BulkItem]]] = []
        try:
            for _ in range(40):
                batch = await consumer.getmany(timeout_ms=250)
                got += [
                    (r.partition, BULK.decode(r.value or b"")) for rs in batch.values() for r in rs
                ]
                if sum(len(items) for _, items in got) >= 3:
                    break
        finally:
            await consumer.stop()
        return got

    sent = asyncio.run(read())
    expected = validate(SAMPLES / "payments-export.jsonl").events
    items = [item for _, batch in sent for item in batch]
    assert sorted((i.key, i.raw) for i in items) == sorted(
        (e.transaction_id.encode(), encode_event(e)) for e in expected
    )
    for partition, batch in sent:  # each message holds the events of its own partition
        homes = {
            partition_for(decode_event(i.raw).transaction_id, settings.partitions) for i in batch
        }
        assert homes == {partition}


def test_bulk_messages_hold_at_most_their_limits_and_one_partition_each() -> None:
    event = validate(SAMPLES / "payments-export.jsonl").events[0]
    many = [
        msgspec.structs.replace(event, transaction_id=f"T-{n:04d}", dossier_code=f"D-{n:04d}")
        for n in range(3000)
    ]
    out = list(messages(many, 4))
    assert sum(len(items) for _, items in out) == 3000
    assert all(len(items) <= BULK_ITEMS for _, items in out)
    assert len(out) == sum(-(-count // BULK_ITEMS) for count in _per_partition(many, 4).values())
    for partition, items in out:
        assert {partition_for(i.key.decode(), 4) for i in items if i.key} == {partition}
    one = len(encode_event(many[0])) + len(b"T-0000")  # every event here has this size
    small = list(messages(many[:50], 1, max_bytes=3 * one + 1))
    assert [len(items) for _, items in small] == [3] * 16 + [2]  # 3 events and their keys fit


def _per_partition(events: list[Any], partitions: int) -> dict[int, int]:
    counts: dict[int, int] = {}
    for e in events:
        home = partition_for(e.transaction_id, partitions)
        counts[home] = counts.get(home, 0) + 1
    return counts


async def _commit(bootstrap: str, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit ``offsets`` for consumer group ``group``, as a worker's commit would."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = {TopicPartition(t, p): o for (t, p), o in offsets.items()}
        consumer.assign(list(tps))
        await consumer.commit(tps)
    finally:
        await consumer.stop()


def test_wait_counted_returns_only_once_every_stage_has_committed(
    settings_factory: Callable[..., Any], kafka_bootstrap: str
) -> None:
    settings = settings_factory(partitions=2)
    bulk, later = settings.topic("payments-bulk"), settings.topic("unit-deltas")
    asyncio.run(ensure_topics(settings, ("payments-bulk", "unit-deltas")))
    group = settings.app_id

    async def scenario() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        for partition in (0, 1):
            await producer.send_and_wait(bulk, b"bulk", partition=partition)
        for _ in range(3):
            await producer.send_and_wait(later, b"delta", partition=0)
        await producer.stop()
        sent = Sent(bulk, {(0, 0): 5, (1, 0): 7})
        console = Console(stderr=True)
        waiting = asyncio.create_task(
            wait_counted(sent, client_args(settings), group, [later], 2, console, False, poll_s=0.1)
        )
        await _commit(kafka_bootstrap, group, {(bulk, 0): 1})  # 5 of 12 events read
        await asyncio.sleep(1.5)
        assert not waiting.done()
        await _commit(kafka_bootstrap, group, {(bulk, 1): 1})  # all read, none tallied
        await asyncio.sleep(1.5)
        assert not waiting.done()
        await _commit(kafka_bootstrap, group, {(later, 0): 2})
        await asyncio.sleep(1.5)
        assert not waiting.done()
        await _commit(kafka_bootstrap, group, {(later, 0): 3})  # the last stage is done
        await asyncio.wait_for(waiting, 10)

    asyncio.run(scenario())
