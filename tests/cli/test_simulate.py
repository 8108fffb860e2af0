"""`paywatch simulate`: to a JSON Lines file with its truth, and a bounded count to real Kafka."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from models.registry import Registry
from streams.cli import app
from streams.simulator import load_truth
from tests.recount import recount


def test_simulate_out_writes_events_and_truth(tmp_path: Path, hoa_binh: Registry) -> None:
    out = tmp_path / "sim.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--count",
            "3000",
            "--seed",
            "4",
            "--out",
            str(out),
            "--quiet",
            "--from",
            "2022-12-20",
            "--to",
            "2023-01-10",
            "--provinces",
            "17",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3,000 records" in result.output
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = lines[:-1]
    assert len(records) == 3000
    truth_file = tmp_path / "sim.truth.json"
    doc = json.loads(truth_file.read_text())
    assert doc["records"] == 3000 and doc["config"]["seed"] == 4
    counters, dead = load_truth(truth_file)
    again = recount(records, hoa_binh)
    assert counters == again.counters
    assert dead == again.dead_letters


def test_simulate_for_a_duration_in_seconds_at_a_rate(tmp_path: Path) -> None:
    """--duration-s with --rate: about rate × duration records, and the truth file says so."""
    out = tmp_path / "paced.jsonl"
    args = ["simulate", "--rate", "200", "--duration-s", "0.5", "--out", str(out), "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    written = len(out.read_bytes().splitlines())
    assert 60 <= written <= 100
    config = json.loads((tmp_path / "paced.truth.json").read_text())["config"]
    assert (config["duration_s"], config["rate"], config["count"]) == (0.5, 200.0, 100)


def test_simulate_produces_a_bounded_count_to_kafka(kafka_bootstrap: str, unique: str) -> None:
    prefix = f"t{unique}."
    env = {
        "PAYWATCH_BROKER": f"kafka://{kafka_bootstrap}",
        "PAYWATCH_TOPIC_PREFIX": prefix,
        "PAYWATCH_PARTITIONS": "3",
    }
    result = CliRunner().invoke(
        app, ["simulate", "--count", "5000", "--seed", "9", "--quiet"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "5,000 records" in result.output
    keys = asyncio.run(_consume(kafka_bootstrap, f"{prefix}payments", expected=5000))
    assert len(keys) == 5000
    assert sum(1 for k in keys if k is None) > 0  # some malformed records have no key


async def _consume(bootstrap: str, topic: str, expected: int) -> list[bytes | None]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    keys: list[bytes | None] = []
    try:
        loop = asyncio.get_running_loop()
        deadline_s = loop.time() + 30
        while len(keys) < expected and loop.time() < deadline_s:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                keys.extend(m.key for m in messages)
        # and nothing more arrives after the count
        extra = await consumer.getmany(timeout_ms=1000)
        keys.extend(m.key for messages in extra.values() for m in messages)
    finally:
        await consumer.stop()
        await _delete_topic(bootstrap, topic)
    return keys


async def _delete_topic(bootstrap: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()
