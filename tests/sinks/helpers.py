"""Helpers of the sinks tests: a dump of what a Redis prefix holds, its deletion, counters, the
counters Redis holds, a runner."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis

from models.kpi import Counters
from sinks.redis_schema import COUNTER_FIELDS

#: 2022-03-15 10:00 in Vietnam: windows are year 2022, month 2022-03, day 2022-03-15.
NOW = datetime(2022, 3, 15, 3, 0, tzinfo=UTC)

T = TypeVar("T")


def run(factory: Callable[[], Awaitable[T]], timeout_s: float = 60) -> T:
    async def main() -> T:
        return await asyncio.wait_for(factory(), timeout_s)

    return asyncio.run(main())


def c(
    paid: int = 0, online: int = 0, amount: int = 0, online_amount: int = 0, **more: int
) -> Counters:
    return Counters(
        paid=paid, paid_online=online, paid_amount=amount, paid_online_amount=online_amount, **more
    )


def drop_keys(url: str, prefix: str) -> None:
    """Delete every key under ``prefix``."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=2000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()


def dump(url: str, prefix: str, skip_changes: bool = True) -> dict[str, Any]:
    """Every key under ``prefix`` and its value (the change stream and meta left out)."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        out: dict[str, Any] = {}
        for key in sorted(client.scan_iter(match=f"{prefix}:*", count=1000)):
            if skip_changes and (key.endswith(":changes") or key.endswith(":meta")):
                continue
            kind = client.type(key)
            if kind == "hash":
                out[key] = client.hgetall(key)
            elif kind == "zset":
                out[key] = client.zrange(key, 0, -1, withscores=True)
            elif kind == "stream":
                out[key] = [fields for _id, fields in client.xrange(key) or []]
            else:
                raise AssertionError(f"unexpected {kind!r} at {key!r}")
        return out
    finally:
        client.close()


async def stored(
    url: str, prefix: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Counters]:
    """The counters Redis holds under ``prefix`` for the (unit, period) ``keys`` (keys it lacks
    are left out)."""
    keys = list(keys)
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        pipe = client.pipeline(transaction=False)
        for unit, period in keys:
            pipe.hmget(f"{prefix}:v1:kpi:{unit}:{period}", list(COUNTER_FIELDS))
        answers = await pipe.execute()
    finally:
        await client.aclose()
    return {
        key: Counters(*(int(v) for v in values))
        for key, values in zip(keys, answers, strict=True)
        if None not in values
    }
