"""`paywatch replay` and exports as spreadsheets write them (streams/exports.py), --topic, a
broker that never answers, and Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.exports import ExportError, validate
from tests.processes import PAYWATCH, paywatch

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "deploy" / "samples"
SAMPLE_CSV = (SAMPLES / "payments-export.csv").read_text(encoding="utf-8")
EXPECTED = validate(SAMPLES / "payments-export.jsonl").events


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_excel_csv_utf8_with_a_byte_order_mark_is_read_and_said(tmp_path: Path) -> None:
    export = _write(tmp_path, "bom.csv", SAMPLE_CSV.encode("utf-8-sig"))
    checked = validate(export)
    assert checked.bad == [] and checked.events == EXPECTED
    assert checked.notes == ["UTF-8 with a byte-order mark (Excel's CSV UTF-8): read as UTF-8"]
    jsonl = (SAMPLES / "payments-export.jsonl").read_bytes()
    checked = validate(_write(tmp_path, "bom.jsonl", b"\xef\xbb\xbf" + jsonl))
    assert checked.bad == [] and checked.events == EXPECTED and checked.notes


def test_semicolon_separated_cells_are_read_and_said(tmp_path: Path) -> None:
    export = _write(tmp_path, "semi.csv", SAMPLE_CSV.replace(",", ";").encode())
    checked = validate(export)
    assert checked.bad == [] and checked.events == EXPECTED
    assert checked.notes == ["cells separated by ';', not ',': read that way"]


def test_a_csv_not_in_utf8_names_its_line_and_the_fix(tmp_path: Path) -> None:
    lines = SAMPLE_CSV.splitlines()
    lines[2] = lines[2].replace(",VNPAY,", ",Ngân hàng,").replace(",,", ",Ngân hàng,", 1)
    export = _write(tmp_path, "cp1258.csv", ("\n".join(lines) + "\n").encode("cp1258"))
    with pytest.raises(ExportError) as caught:
        validate(export)
    message = str(caught.value)
    assert message.startswith(f"{export}:3: not UTF-8: byte 0x")
    assert "Windows-1258" in message and "CSV UTF-8" in message
    result = paywatch("replay", str(export), "--dry-run")
    assert result.returncode == 1 and f"{export}:3: not UTF-8" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_an_extra_trailing_cell_is_a_bad_row(tmp_path: Path) -> None:
    lines = SAMPLE_CSV.splitlines()
    lines[2] += ",surplus"
    lines[3] += ","  # an empty trailing cell (a trailing comma) holds nothing: fine
    checked = validate(_write(tmp_path, "extra.csv", ("\n".join(lines) + "\n").encode()))
    assert [(b.line, b.reason) for b in checked.bad] == [(3, "extra_cells")]
    assert "13 cells where the header has 12 columns (extra: 'surplus')" in checked.bad[0].message
    assert [e.transaction_id for e in checked.events] == ["HB-2022-000001", "HB-2022-000003"]


def test_an_unpadded_unit_code_is_a_bad_row_with_the_padded_code(tmp_path: Path) -> None:
    export = _write(tmp_path, "unpadded.csv", SAMPLE_CSV.replace(",04789,", ",4789,").encode())
    checked = validate(export)
    assert [(b.line, b.reason) for b in checked.bad] == [
        (2, "unpadded_unit_code"),
        (4, "unpadded_unit_code"),
    ]
    assert "unit_code '4789' is not zero-padded" in checked.bad[0].message
    assert "'04789'" in checked.bad[0].message
    result = paywatch("replay", str(export), "--dry-run")
    assert result.returncode == 1 and f"{export}:2: unit_code '4789'" in result.stderr


def _env(settings: Any) -> dict[str, str]:
    return {
        **os.environ,
        "PAYWATCH_BROKER": settings.broker,
        "PAYWATCH_TOPIC_PREFIX": settings.topic_prefix,
        "PAYWATCH_PARTITIONS": str(settings.partitions),
    }


async def _events_in(bootstrap: str, topic: str, partitions: int) -> int:
    """Messages in ``topic`` (its end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


def test_replay_to_a_named_topic(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, unique: str
) -> None:
    settings = settings_factory(partitions=1)
    env = _env(settings)
    paywatch("topics", env=env, check=True)
    topic = f"test-{unique}-other-bulk"
    result = paywatch("replay", str(SAMPLES / "payments-export.jsonl"), "--topic", topic, env=env)
    assert result.returncode == 0, result.stderr
    assert f"produced 3 events to {topic} (1 messages)" in result.stdout
    assert asyncio.run(_events_in(kafka_bootstrap, topic, 1)) == 1
    assert asyncio.run(_events_in(kafka_bootstrap, settings.topic("payments-bulk"), 1)) == 0


@pytest.mark.slow
def test_a_broker_that_never_answers_times_out_with_a_message(silent_port: int) -> None:
    env = {**os.environ, "PAYWATCH_BROKER": f"kafka://127.0.0.1:{silent_port}"}
    began_s = time.monotonic()
    result = paywatch("replay", str(SAMPLES / "payments-export.jsonl"), env=env, timeout_s=90)
    assert time.monotonic() - began_s < 40
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        f"PAYWATCH_BROKER=kafka://127.0.0.1:{silent_port}: cannot reach the Kafka broker "
        "(no answer within 15 s)" in result.stderr
    )


def test_ctrl_c_says_what_was_sent(
    tmp_path: Path, settings_factory: Callable[..., Any], kafka_bootstrap: str
) -> None:
    settings = settings_factory(partitions=2)
    env = _env(settings)
    paywatch("topics", env=env, check=True)
    template = json.loads((SAMPLES / "payments-export.jsonl").read_text().splitlines()[0])
    export = tmp_path / "big.jsonl"
    with export.open("w") as out:
        for n in range(200_000):
            row = template | {"transaction_id": f"T-{n}", "dossier_code": f"D-{n}"}
            out.write(json.dumps(row) + "\n")
    bulk = settings.topic("payments-bulk")
    replay = subprocess.Popen(
        [PAYWATCH, "replay", str(export), "--no-progress"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline_s = time.monotonic() + 120
    # replay settles acknowledgements 20 messages at a time and sends the 21st after: with
    # more than 20 in the topic, at least 20 messages (10,000 events) are acknowledged
    while asyncio.run(_events_in(kafka_bootstrap, bulk, 2)) <= 20:
        assert replay.poll() is None and time.monotonic() < deadline_s
        time.sleep(0.02)
    replay.send_signal(signal.SIGINT)
    stdout, stderr = replay.communicate(timeout=60)
    assert replay.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr
    line = next(x for x in stderr.splitlines() if x.startswith("interrupted: "))
    acknowledged = int(line.split("acknowledged ")[1].split(" of ")[0])
    assert " of 200000 events (" in line and "Replaying the whole file again is safe" in line
    assert 10_000 <= acknowledged < 200_000
    messages = asyncio.run(_events_in(kafka_bootstrap, bulk, 2))
    assert messages * 500 >= acknowledged  # at most 500 events a message
