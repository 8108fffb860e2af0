"""`paywatch replay`: validate first, report bad rows by line, then produce to the real broker."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from models.events import decode_event
from streams.replay import validate

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "deploy" / "samples"
PAYWATCH = str(ROOT / ".venv" / "bin" / "paywatch")


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
    result = subprocess.run(
        [PAYWATCH, "replay", str(export), "--no-progress"],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
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


def test_replay_produces_every_valid_row_keyed_by_transaction(
    tmp_path: Path, settings_factory: Callable[..., Any], kafka_bootstrap: str
) -> None:
    settings = settings_factory()
    env = _env(settings)
    subprocess.run([PAYWATCH, "topics"], env=env, check=True, capture_output=True, timeout=60)
    export = tmp_path / "export.jsonl"
    export.write_text((SAMPLES / "payments-export.jsonl").read_text() + "{broken\n")
    result = subprocess.run(
        [PAYWATCH, "replay", str(export), "--skip-bad", "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"produced 3 events to {settings.topic('payments')}" in result.stdout

    async def read() -> list[tuple[bytes | None, bytes | None]]:
        consumer = AIOKafkaConsumer(
            settings.topic("payments"),
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        got: list[tuple[bytes | None, bytes | None]] = []
        try:
            for _ in range(40):
                batch = await consumer.getmany(timeout_ms=250)
                got += [(r.key, r.value) for records in batch.values() for r in records]
                if len(got) >= 3:
                    break
        finally:
            await consumer.stop()
        return got

    records = asyncio.run(read())
    expected = validate(SAMPLES / "payments-export.jsonl").events
    assert sorted(records) == sorted((e.transaction_id.encode(), _canonical(e)) for e in expected)
    assert sorted(decode_event(v).transaction_id for _, v in records if v) == sorted(
        e.transaction_id for e in expected
    )


def _canonical(event: Any) -> bytes:
    from models.events import encode_event

    return encode_event(event)
