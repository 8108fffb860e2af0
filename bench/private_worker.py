"""A benchmark's own worker: nothing it does touches a running deployment.

Its app id (so its consumer group and changelog topics), topic prefix, Redis prefix, data
directory and web port are its own; its topics are created before it starts.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

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
    create_topics(own)
    return own, Worker(own, Path(f"/tmp/paywatch-bench-{name}-{unique}.log")).start()
