"""A `paywatch worker` with a test-only fault: its ingest step fails as a whole whenever it
holds a record whose value contains the bytes in PAYWATCH_TEST_POISON. The fault sits outside
the per-record isolation (around the whole step), the way a fault in a step's sends or table
writes would, so only the crash-loop guard can get past it."""

from __future__ import annotations

import os
from typing import Any

from streams.app import Pipeline
from streams.settings import load_settings
from streams.worker_process import run_worker

POISON = os.environ["PAYWATCH_TEST_POISON"].encode()
_ingest_step = Pipeline._ingest_step


async def _poisoned_step(self: Pipeline, events: list[Any]) -> None:
    if any(POISON in (event.value or b"") for event in events):
        raise RuntimeError("a step-level fault caused by one record")
    await _ingest_step(self, events)


if __name__ == "__main__":
    Pipeline._ingest_step = _poisoned_step  # type: ignore[method-assign]
    run_worker(load_settings())
