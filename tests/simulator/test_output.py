"""Where the simulator's records go (streams/simulator/output.py): paced to a rate, stopped
after a duration, written as JSON Lines with the truth file beside them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from streams.simulator.output import Pacer, truth_path, write_jsonl
from streams.simulator.records import SimRecord


def test_pacer_holds_the_rate_and_stops_after_the_duration() -> None:
    records = [SimRecord(None, b"x")] * 100_000
    began_s = time.monotonic()
    assert len(list(Pacer(2000, None).pace(records[:600]))) == 600
    assert time.monotonic() - began_s == pytest.approx(0.3, abs=0.1)
    began_s = time.monotonic()
    sent = len(list(Pacer(1000, 0.4).pace(records)))
    assert time.monotonic() - began_s == pytest.approx(0.4, abs=0.1)
    assert sent == pytest.approx(400, abs=40)


def test_the_truth_file_sits_beside_the_records() -> None:
    assert truth_path(Path("out/sim.jsonl")) == Path("out/sim.truth.json")
    assert truth_path(Path("sim.data")) == Path("sim.data.truth.json")


def test_jsonl_holds_each_value_on_its_own_line_and_reports_progress(tmp_path: Path) -> None:
    records = [SimRecord(f"T{n}".encode(), f'{{"n": {n}}}'.encode()) for n in range(2500)]
    seen: list[int] = []
    out = tmp_path / "sim.jsonl"
    assert write_jsonl(records, out, seen.append) == 2500
    assert out.read_bytes().splitlines() == [r.value for r in records]
    assert seen == [1000, 2000, 2500]


def test_no_rate_means_no_wait_and_an_expired_pacer_sends_nothing() -> None:
    assert Pacer(0, None).delay_s() == 0.0
    expired = Pacer(0, 0.0)
    assert expired.expired() and list(expired.pace([SimRecord(None, b"x")])) == []
