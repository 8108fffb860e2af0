"""Creates paywatch's external topics before any producer or worker uses them.

The portal writes to `payments` and ops read `payments-dlq`, so both must exist with the
configured partition count before the first event; Faust creates its own internal topics
(repartition and changelog topics) itself.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.settings import Settings

EXTERNAL_TOPICS = ("payments", "payments-dlq")


async def ensure_topics(settings: Settings, names: tuple[str, ...] = EXTERNAL_TOPICS) -> list[str]:
    """Create the named topics that do not exist yet; return the ones created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [settings.topic(name) for name in names]
        new = [
            NewTopic(topic, num_partitions=settings.partitions, replication_factor=1)
            for topic in wanted
            if topic not in existing
        ]
        if new:
            # Another process may create them between the list and the create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        return [t.name for t in new]
    finally:
        await admin.close()


def create_topics(settings: Settings) -> list[str]:
    return asyncio.run(ensure_topics(settings))
