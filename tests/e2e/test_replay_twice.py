"""`paywatch replay` of the same export twice: the counters do not change the second time."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from recount import recount
from stream_harness import PAYWATCH, Worker, create_topics, diff, wait_for_counters, worker_env

from models.registry import Registry
from streams.simulator import SimConfig, generate


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_replaying_an_export_twice_counts_it_once(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path
) -> None:
    registry = Registry.load({"17"})
    config = SimConfig(
        count=3000, seed=31, start=date(2022, 4, 1), end=date(2022, 4, 30), malformed_rate=0
    )
    values = [r.value for r in generate(config, registry)]
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"".join(v + b"\n" for v in values))
    expected = recount(values, registry)
    settings = settings_factory(data_dir=tmp_path / "w1")
    create_topics(settings)
    env = worker_env(settings)
    worker = Worker(settings, tmp_path / "w1.log").start()
    try:
        for attempt in (1, 2):
            done = subprocess.run(
                [PAYWATCH, "replay", str(export), "--skip-bad", "--no-progress"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            if attempt == 2:
                time.sleep(10)  # give the second copy time to be (not) counted
            got = wait_for_counters(kafka_bootstrap, settings.app_id, expected.counters, 300)
            assert got == expected.counters, "\n".join(diff(expected.counters, got))
    finally:
        worker.stop()
