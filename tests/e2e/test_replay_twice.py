"""`paywatch replay --wait` of the same export twice: when the command returns the counters are
exact (read once, not polled), and they do not change the second time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from models.registry import Registry
from streams.simulator import SimConfig, generate
from tests.processes import paywatch
from tests.recount import recount
from tests.streams.stream_harness import (
    Worker,
    assert_counts,
    create_topics,
    read_counters,
    worker_env,
)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_replaying_an_export_twice_counts_it_once(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    config = SimConfig(
        count=3000, seed=31, start=date(2022, 4, 1), end=date(2022, 4, 30), malformed_rate=0
    )
    values = [r.value for r in generate(config, hoa_binh)]
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"".join(v + b"\n" for v in values))
    expected = recount(values, hoa_binh)
    settings = settings_factory(data_dir=tmp_path / "w1")
    create_topics(settings)
    env = worker_env(settings)
    worker = Worker(settings, tmp_path / "w1.log").start()
    try:
        for _ in (1, 2):
            done = paywatch(
                "replay",
                str(export),
                "--skip-bad",
                "--no-progress",
                "--wait",
                env=env,
                timeout_s=300,
            )
            assert done.returncode == 0, done.stderr
            assert "have counted all" in done.stdout
            got = read_counters(kafka_bootstrap, settings.app_id)
            assert_counts(got, expected.counters)
    finally:
        worker.stop()
