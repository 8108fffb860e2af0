"""`paywatch dead-letters`: payments-dlq read back by reason and time from a real broker, and
the originals exported as a file `paywatch replay` takes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from aiokafka import AIOKafkaProducer

from streams.admin import ensure_topics
from streams.commands.dead_letters import parse_moment
from streams.deadletter import encode_dead_letter
from streams.ingest import DeadLetter
from streams.wire import source
from tests.processes import paywatch

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "deploy" / "samples" / "payments-export.jsonl").read_text().splitlines()
HOUR_MS = 3_600_000


def _env(settings: Any) -> dict[str, str]:
    return {
        **os.environ,
        "PAYWATCH_BROKER": settings.broker,
        "PAYWATCH_TOPIC_PREFIX": settings.topic_prefix,
    }


#: (hours ago, reason, original value) of the dead letters the test writes.
LETTERS = [
    (5.0, "malformed_json", b'{"schema_version": 1, "amount": '),
    (3.0, "unknown_unit", SAMPLE[0].encode()),
    (0.5, "malformed_json", b"{not json"),
    (0.2, "unknown_unit", SAMPLE[1].encode()),
    (0.1, "too_large", b"x" * 70_000),  # kept only in part: not exportable
]


async def _write(settings: Any) -> None:
    await ensure_topics(settings)
    now_ms = int(time.time() * 1000)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for offset, (hours, reason, raw) in enumerate(LETTERS):
            dead = DeadLetter(reason, f"{reason} test", raw, source("payments", 2, offset, b"k"))
            await producer.send_and_wait(
                settings.topic("payments-dlq"),
                encode_dead_letter(dead),
                partition=offset % 3,
                timestamp_ms=now_ms - int(hours * HOUR_MS),
            )
    finally:
        await producer.stop()


def _run(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return paywatch("dead-letters", *args, env=_env(settings))


def test_by_reason_and_time_with_an_export_to_replay(
    tmp_path: Path, settings_factory: Callable[..., Any]
) -> None:
    settings = settings_factory()
    asyncio.run(_write(settings))

    everything = _run(settings)
    assert everything.returncode == 0, everything.stderr
    assert "5 dead letters in" in everything.stdout
    assert "       2  malformed_json" in everything.stdout
    assert "       2  unknown_unit" in everything.stdout
    assert "       1  too_large" in everything.stdout

    recent = _run(settings, "--since", "1h", "--json")
    assert recent.returncode == 0, recent.stderr
    docs = [json.loads(line) for line in recent.stdout.splitlines()]
    assert sorted(d["reason"] for d in docs) == ["malformed_json", "too_large", "unknown_unit"]
    assert all(d["topic"] == "payments" and d["partition"] == 2 for d in docs)

    export = tmp_path / "unknown.jsonl"
    units = _run(settings, "--reason", "unknown_unit", "--export", str(export))
    assert units.returncode == 0, units.stderr
    assert f"wrote 2 original records to {export}" in units.stdout
    assert export.read_text().splitlines() == [SAMPLE[0], SAMPLE[1]]
    # ... which `paywatch replay` accepts as it is.
    check = paywatch("replay", str(export), "--dry-run", env=_env(settings))
    assert check.returncode == 0 and "2 rows: 2 valid, 0 bad" in check.stdout, check.stderr

    older = _run(settings, "--until", "2h", "--reason", "malformed_json", "--json")
    assert [json.loads(line)["value_text"] for line in older.stdout.splitlines()] == [
        '{"schema_version": 1, "amount": '
    ]

    big = _run(settings, "--reason", "too_large", "--export", str(tmp_path / "big.jsonl"))
    assert "wrote 0 original records" in big.stdout
    assert "left out 1 whose original is not one line of text or was kept only in part" in (
        big.stderr
    )

    typo = _run(settings, "--reason", "invalid_json")
    assert "no dead letter with reason invalid_json" in typo.stderr
    assert "malformed_json" in typo.stderr


def test_bad_times_and_a_missing_topic_are_messages(settings_factory: Callable[..., Any]) -> None:
    settings = settings_factory()
    bad = _run(settings, "--since", "yesterday")
    assert bad.returncode == 2 and "'yesterday': expected a time" in bad.stderr
    missing = _run(settings)
    assert missing.returncode == 2
    assert f"topic {settings.topic('payments-dlq')} does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr + bad.stderr
    down = _run(settings.model_copy(update={"broker": "kafka://127.0.0.1:1"}))
    assert down.returncode == 2
    assert down.stderr.strip().splitlines() == [
        f"paywatch dead-letters: cannot read {settings.topic('payments-dlq')} from the broker "
        "at 127.0.0.1:1 "
        "(KafkaConnectionError); is Kafka up? Check PAYWATCH_BROKER."
    ], down.stderr  # one line: aiokafka's own "Unable connect ..." lines are left out


def test_times_are_ages_or_vietnam_times() -> None:
    now = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert parse_moment("90m", "--since", now) == datetime(2026, 11, 29, 8, 30, tzinfo=UTC)
    assert parse_moment("2d", "--since", now) == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert parse_moment("2026-11-29T10:00", "--since") == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    assert parse_moment("2026-11-29T10:00Z", "--since") == datetime(2026, 11, 29, 10, tzinfo=UTC)
    with pytest.raises(typer.BadParameter):
        parse_moment("10 o'clock", "--until")
