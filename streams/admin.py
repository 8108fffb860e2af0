"""Creates paywatch's topics before any producer or worker uses them.

The portal writes to `payments`, `paywatch replay` to `payments-bulk`, and ops read
`payments-dlq`, so these must exist with the configured partition count before the first
event. A worker also creates its repartition topics and its tables' changelog topics
(compacted) before Faust starts, and waits until every partition has a leader: a changelog
topic that Faust creates on the fly can be seen for a moment with no partitions, and the first
table write then fails (``PartitionsMismatch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.kafka_security import KafkaClientArgs, client_args
from streams.settings import Settings

EXTERNAL_TOPICS = ("payments", "payments-bulk", "payments-dlq")


class PartitionCountError(RuntimeError):
    """A topic exists with another partition count than PAYWATCH_PARTITIONS (a setting to fix)."""


COMPACTED = {"cleanup.policy": "compact"}


def changelog_topic(settings: Settings, table: str) -> str:
    """The name Faust gives a table's changelog topic."""
    return f"{settings.app_id}-{table}-changelog"


async def ensure_topics(
    settings: Settings,
    names: tuple[str, ...] = EXTERNAL_TOPICS,
    tables: tuple[str, ...] = (),
    ready_within_s: float = 60.0,
) -> list[str]:
    """Create the named topics and the changelog topics of ``tables`` that do not exist yet,
    wait until all of them have a leader for every partition; return the ones created."""
    admin = AIOKafkaAdminClient(**client_args(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted: dict[str, dict[str, str] | None] = {settings.topic(name): None for name in names}
        wanted.update({changelog_topic(settings, table): COMPACTED for table in tables})
        new = [
            NewTopic(
                topic,
                num_partitions=settings.partitions,
                replication_factor=1,
                topic_configs=config or {},
            )
            for topic, config in wanted.items()
            if topic not in existing
        ]
        if new:
            # Another process may create them between the list and the create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        await _wait_for_leaders(admin, list(wanted), settings.partitions, ready_within_s)
        return [t.name for t in new]
    finally:
        await admin.close()


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, topics: list[str], partitions: int, within_s: float
) -> None:
    deadline_s = time.monotonic() + within_s
    while True:
        described = await admin.describe_topics(topics)
        for t in described:
            count = len(t["partitions"])
            if t["error_code"] == 0 and count and count != partitions:
                raise PartitionCountError(
                    f"topic {t['topic']!r} has {count} partitions but PAYWATCH_PARTITIONS is "
                    f"{partitions}: use the topic's count or a new app id and topic prefix"
                )
        missing = [
            t["topic"]
            for t in described
            if t["error_code"] != 0
            or len(t["partitions"]) < partitions
            or any(p["leader"] < 0 for p in t["partitions"])
        ]
        if not missing:
            return
        if time.monotonic() > deadline_s:
            raise RuntimeError(f"topics without a leader after {within_s:.0f}s: {missing}")
        await asyncio.sleep(0.2)


async def topic_partitions(kafka: KafkaClientArgs, topics: list[str]) -> dict[str, list[int]]:
    """The partitions of each of ``topics`` that exists (a missing topic is left out)."""
    admin = AIOKafkaAdminClient(**kafka, request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {
        t["topic"]: sorted(p["partition"] for p in t["partitions"])
        for t in described
        if t["error_code"] == 0 and t["partitions"]
    }


def create_topics(settings: Settings) -> list[str]:
    return asyncio.run(ensure_topics(settings))
