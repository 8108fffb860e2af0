"""A benchmark's own worker: nothing it does touches a running deployment.

Its app id (so its consumer group and changelog topics), topic prefix, Redis prefix, data
directory and web port are its own; its topics are created before it starts, and deleted with
its Redis keys and data directory when the benchmark's process exits: traces left behind
slowed later benchmarks (2.5 million keys of earlier runs made Redis snapshot 1.3 GB every
minute, a whole core, during the next run).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import uuid
from pathlib import Path
from typing import Any

import redis
from aiokafka.admin import AIOKafkaAdminClient

from streams.settings import Settings
from tests.ports import free_port
from tests.streams.stream_harness import Worker, create_topics

#: The local stack's Redis administrator (deploy/local/redis.sh), there whether or not the
#: default user is on (`make services` turns it on; `make up` and the tests' own start do not).
REDIS_URL = "redis://paywatch-admin:paywatch-local@127.0.0.1:6380/0"


def private_worker(name: str, bootstrap: str, **settings: Any) -> tuple[Settings, Worker]:
    """Settings of a fresh private worker for benchmark ``name`` (``settings`` override), and
    the worker, started (its log: /tmp/paywatch-bench-NAME-ID.log)."""
    unique = uuid.uuid4().hex[:8]
    own = Settings(
        app_id=f"bench-{name}-{unique}",
        broker=f"kafka://{bootstrap}",
        topic_prefix=f"bench{name}{unique}.",
        redis_prefix=f"bench-{name}-{unique}",
        data_dir=Path(f"/tmp/paywatch-bench-{name}-{unique}"),
        web_port=free_port(),
        standby_replicas=0,
        **{"redis_url": REDIS_URL, **settings},
    )
    create_topics(removed_at_exit(own))
    return own, Worker(own, Path(f"/tmp/paywatch-bench-{name}-{unique}.log")).start()


def removed_at_exit(settings: Settings) -> Settings:
    """``settings``, whose traces (see :func:`remove_traces`) are removed when this process
    exits (after the benchmark has stopped its workers)."""
    atexit.register(remove_traces, settings)
    return settings


def remove_traces(settings: Settings) -> None:
    """Delete what a benchmark's worker made: its data directory, its topics (``settings``'
    topic prefix, and its app id's changelogs) and its Redis keys. Its log stays."""
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    with contextlib.suppress(Exception):
        marks = (settings.topic_prefix, f"{settings.app_id}-")
        asyncio.run(_delete_topics(settings.bootstrap_servers, marks))
    with contextlib.suppress(Exception):
        client = redis.Redis.from_url(settings.redis_url)
        keys: list[bytes] = []
        for key in client.scan_iter(match=f"{settings.redis_prefix}:*", count=1000):
            keys.append(key)
            if len(keys) == 1000:
                client.unlink(*keys)
                keys.clear()
        if keys:
            client.unlink(*keys)
        client.close()


async def _delete_topics(bootstrap: str, prefixes: tuple[str, ...]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
