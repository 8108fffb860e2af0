"""A worker whose broker is down: its log does not flood (repeated messages are summarised), it
holds no terminal escape codes, and SIGTERM still ends it within 10 s. The broker is this
test's own (tests/streams/private_servers.py); the shared one stays up."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from models.registry import Registry
from streams.simulator import SimConfig
from tests.streams.private_servers import PrivateKafka
from tests.streams.stream_harness import Worker, create_topics, produce, read_counters, simulated

OUTAGE_S = 20.0
STOP_BOUND_S = 10.0


@pytest.mark.timeout(600)
def test_a_worker_without_its_broker_logs_little_and_stops_on_sigterm(
    settings_factory: Callable[..., Any], tmp_path: Path, hoa_binh: Registry
) -> None:
    broker = PrivateKafka(tmp_path / "kafka")
    broker.start()
    config = SimConfig(count=4000, seed=41, start=date(2022, 1, 1), end=date(2022, 2, 28))
    records, _ = simulated(config, hoa_binh)
    settings = settings_factory(standby_replicas=0, broker=f"kafka://{broker.bootstrap}")
    log = tmp_path / "worker.log"
    worker = Worker(settings, log)
    try:
        create_topics(settings)
        produce(broker.bootstrap, settings.topic("payments"), records)
        worker.start()
        deadline_s = time.monotonic() + 300
        while not read_counters(broker.bootstrap, settings.app_id):
            assert worker.alive, log.read_text()[-3000:]
            assert time.monotonic() < deadline_s, "the worker counted nothing within 300 s"
            time.sleep(0.5)
        before = log.stat().st_size
        broker.stop()
        time.sleep(OUTAGE_S)
        assert worker.alive, "the worker exited while its broker was away"
        during = log.read_bytes()[before:].decode(errors="replace")
        lines = during.splitlines()
        # The outage is logged, each kind of message once, its repeats held back.
        assert "Unable connect to node" in during, during[-3000:]
        assert len(lines) <= 60, f"{len(lines)} lines in {OUTAGE_S:.0f} s:\n" + during[-3000:]
        assert worker.proc is not None
        started_s = time.monotonic()
        worker.proc.send_signal(signal.SIGTERM)
        worker.proc.wait(timeout=60)
        took_s = time.monotonic() - started_s
        assert took_s <= STOP_BOUND_S, f"stopped {took_s:.1f} s after SIGTERM:\n" + _tail(log)
        text = log.read_text(errors="replace")
        # The last checkpoint finishes (nothing held) or is cut short by the outage (exit 1):
        # then one line says so. Either way no traceback.
        assert "Traceback" not in text[text.index("signal SIGTERM") :], _tail(log)
        if worker.proc.returncode != 0:
            assert worker.proc.returncode == 1, _tail(log)
            assert "did not finish within 6 s (is the broker down?); its events are counted" in (
                text
            ), _tail(log)
        assert re.search(r"\(and \d+ more like it\)|repeated \d+ times", text), _tail(log)
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text.replace("\t", "")), repr(
            sorted(set(re.findall(r"[\x00-\x08\x0b-\x1f\x7f].{0,4}", text)))
        )
    finally:
        worker.stop()
        broker.stop()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]
