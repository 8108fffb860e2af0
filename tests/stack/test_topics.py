"""`paywatch topics` creates the external topics once, with the configured partitions."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from tests.processes import paywatch

ROOT = Path(__file__).resolve().parents[2]


def _partitions(bootstrap: str, topic: str) -> int:
    async def run() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            (description,) = await admin.describe_topics([topic])
            return len(description["partitions"])
        finally:
            await admin.close()

    return asyncio.run(run())


def test_topics_created_once(settings_factory: Callable[..., Any], kafka_bootstrap: str) -> None:
    settings = settings_factory(partitions=4)
    env = {
        **os.environ,
        "PAYWATCH_BROKER": settings.broker,
        "PAYWATCH_TOPIC_PREFIX": settings.topic_prefix,
        "PAYWATCH_PARTITIONS": "4",
    }
    first = paywatch("topics", env=env)
    assert first.returncode == 0, first.stderr
    assert f"created topic {settings.topic('payments')} (4 partitions)" in first.stdout
    assert f"created topic {settings.topic('payments-bulk')} (4 partitions)" in first.stdout
    assert f"created topic {settings.topic('payments-dlq')} (4 partitions)" in first.stdout
    second = paywatch("topics", env=env)
    assert second.stdout.strip() == "topics already exist"
    assert _partitions(kafka_bootstrap, settings.topic("payments")) == 4
