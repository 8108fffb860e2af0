"""Topics a worker needs exist, with a leader for every partition, before Faust starts: the
changelog topics compacted, a partition count that disagrees with the settings refused."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.admin import changelog_topic, ensure_topics
from streams.app import TABLES, TOPICS


async def _describe(bootstrap: str, topics: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        counts = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(topics)}
        resources = [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
        policies = {}
        for response in await admin.describe_configs(resources):
            for _, _, _, name, entries in response.resources:
                policy = [e[1] for e in entries if e[0] == "cleanup.policy"]
                policies[name] = policy[0] if policy else ""
        return counts, policies
    finally:
        await admin.close()


def test_worker_topics_and_compacted_changelogs(
    settings_factory: Callable[..., Any], kafka_bootstrap: str
) -> None:
    settings = settings_factory(partitions=4)
    created = asyncio.run(ensure_topics(settings, TOPICS, TABLES))
    changelogs = [changelog_topic(settings, t) for t in TABLES]
    names = [settings.topic(t) for t in TOPICS] + changelogs
    assert sorted(created) == sorted(names)
    counts, policies = asyncio.run(_describe(kafka_bootstrap, names))
    assert counts == {name: 4 for name in names}
    assert {n: policies[n] for n in changelogs} == {n: "compact" for n in changelogs}
    assert policies[settings.topic("payments")] == "delete"
    assert asyncio.run(ensure_topics(settings, TOPICS, TABLES)) == []  # second run: nothing new


def test_partition_count_mismatch_is_refused(
    settings_factory: Callable[..., Any], kafka_bootstrap: str
) -> None:
    settings = settings_factory(partitions=6)

    async def make_three() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(settings.topic("payments"), 3, 1)])
        finally:
            await admin.close()

    asyncio.run(make_three())
    with pytest.raises(RuntimeError, match=r"has 3 partitions but PAYWATCH_PARTITIONS is 6"):
        asyncio.run(ensure_topics(settings))
