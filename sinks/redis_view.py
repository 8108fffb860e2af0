"""The Redis live view writer: coalescing, pipelined, absolute writes that never block the stream.

:meth:`RedisView.update` is synchronous and O(1): it records the latest counters of a
(unit, period) in a pending map (a newer update replaces an older one, so memory is bounded by
the number of distinct keys changed since the last successful flush). A background task flushes
the map every ``flush_interval`` seconds in MULTI/EXEC batches. When Redis is down or slow the
flush fails, is counted, and is retried with exponential backoff and jitter; the pending map
keeps only the latest values, so once Redis answers again the view converges to exactly the
current counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from models.kpi import Counters
from models.periods import VN_TZ
from sinks.backoff import Backoff
from sinks.redis_schema import (
    COUNTER_FIELDS,
    OPTIONAL_FIELDS,
    RANKED,
    SCHEMA_VERSION,
    Keys,
    kpi_fields,
)
from sinks.units import UnitDirectory, period_start

__all__ = ["RedisView", "SinkObserver"]

log = logging.getLogger(__name__)

SINK: Final = "redis"
_FAILURES: Final = (RedisError, OSError, asyncio.TimeoutError)


class SinkObserver:
    """Where a sink reports its failures (the Prometheus side implements it); no-op here."""

    def sink_error(self, sink: str) -> None:
        """One failed flush of ``sink``."""

    def sink_flushed(self, sink: str, keys: int, seconds: float) -> None:
        """One successful flush batch of ``keys`` keys that took ``seconds``."""


@dataclass(slots=True)
class _Pending:
    values: tuple[int, ...]
    updated_at: float  # wall clock (epoch seconds) of the latest update
    since: float  # monotonic time of the oldest unflushed update of this key
    seq: int  # bumped by every update, so a flush knows whether it wrote the latest


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _rfc3339(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class RedisView:
    """The live view of the counters in Redis (key schema v1, see :mod:`sinks.redis_schema`).

    Use: ``view = RedisView(url, prefix, directory)``, ``await view.start()``, then call
    ``view.update(unit, period, counters)`` from the stream for every changed counter row, and
    ``await view.stop()`` at shutdown (it makes a last flush attempt).
    """

    def __init__(
        self,
        url: str,
        prefix: str,
        directory: UnitDirectory,
        *,
        flush_interval: float = 0.2,
        batch_size: int = 2000,
        stream_maxlen: int = 100_000,
        socket_timeout: float = 5.0,
        backoff: Backoff | None = None,
        observer: SinkObserver | None = None,
        clock: Callable[[], datetime] = _utc_now,
        client: aioredis.Redis | None = None,
    ) -> None:
        if flush_interval <= 0 or batch_size < 1:
            raise ValueError("flush_interval must be > 0 and batch_size >= 1")
        self.keys = Keys(prefix)
        self.directory = directory
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.stream_maxlen = stream_maxlen
        self.observer = observer or SinkObserver()
        self._clock = clock
        self._backoff = backoff or Backoff(base=0.1, cap=10.0)
        # redis-py's own retries are off: this class retries, with its own backoff.
        self._client = client or aioredis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._unit_written: dict[str, tuple[str, ...]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.errors = 0
        self.flushes = 0
        self.last_error: str | None = None

    # -- the stream side: synchronous, never waits on Redis ---------------------------------
    def update(self, unit: str, period: str, counters: Counters) -> None:
        """Record the latest counters of (unit, period); the next flush writes them."""
        values = tuple(getattr(counters, name) for name in COUNTER_FIELDS)
        now = self._clock().timestamp()
        entry = self._pending.get((unit, period))
        if entry is None:
            self._pending[(unit, period)] = _Pending(values, now, time.monotonic(), 0)
        else:
            entry.values = values
            entry.updated_at = now
            entry.seq += 1

    def update_many(self, rows: Iterable[tuple[str, str, Counters]]) -> None:
        """:meth:`update` for every row (for a full resync after an assignment)."""
        for unit, period, counters in rows:
            self.update(unit, period, counters)

    def discard(self, units: Collection[str]) -> int:
        """Forget pending updates of ``units`` (call on partition revocation: the new owner
        writes them from now on, and a late flush here must not overwrite its newer values)."""
        gone = [key for key in self._pending if key[0] in units]
        for key in gone:
            del self._pending[key]
        return len(gone)

    @property
    def pending(self) -> int:
        """Distinct (unit, period) keys not yet written."""
        return len(self._pending)

    @property
    def lag(self) -> float:
        """Seconds since the oldest unflushed update arrived (0 when all is written)."""
        oldest = min((e.since for e in self._pending.values()), default=None)
        return 0.0 if oldest is None else max(0.0, time.monotonic() - oldest)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="redis-view")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Stop the flush loop after one last attempt to write what is pending."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._pending:
            with contextlib.suppress(*_FAILURES):
                await asyncio.wait_for(self.flush(), drain_timeout)
        await self._client.aclose()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending (tests and shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._pending:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(min(0.05, self.flush_interval))
        return True

    async def _run(self) -> None:
        while not self._stopping:
            if not self._pending:
                await asyncio.sleep(self.flush_interval)
                continue
            try:
                await self.flush()
            except Exception as exc:  # Redis down or slow (or a bug): count, back off, retry
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.observer.sink_error(SINK)
                self._unit_written.clear()  # Redis may have lost them; write them again
                delay = self._backoff.next()
                log.warning(
                    "redis view: flush failed (%s), %d keys pending, retry in %.2fs",
                    self.last_error,
                    len(self._pending),
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            self._backoff.reset()
            await asyncio.sleep(self.flush_interval)

    # -- writing ----------------------------------------------------------------------------
    async def flush(self) -> int:
        """Write everything pending, batch by batch; returns the number of keys written.

        Raises the Redis error of a failed batch; what that batch held stays pending (unless a
        newer update replaced it meanwhile, which then stays pending instead).
        """
        written = 0
        while self._pending:
            batch = [
                (key, entry.seq, entry)
                for key, entry in itertools.islice(self._pending.items(), self.batch_size)
            ]
            started = time.monotonic()
            await self._write(batch)
            for key, seq, entry in batch:
                if self._pending.get(key) is entry and entry.seq == seq:
                    del self._pending[key]
                elif self._pending.get(key) is entry:  # updated while we wrote: keep it pending
                    del self._pending[key]
                    entry.since = time.monotonic()
                    self._pending[key] = entry
            written += len(batch)
            self.flushes += 1
            self.observer.sink_flushed(SINK, len(batch), time.monotonic() - started)
            if self._stopping:
                break
            await asyncio.sleep(0)
        return written

    async def _write(self, batch: list[tuple[tuple[str, str], int, _Pending]]) -> None:
        now = self._clock()
        today = now.astimezone(VN_TZ).date()
        keys = self.keys
        pipe = self._client.pipeline(transaction=True)
        new_units: dict[str, tuple[str, ...]] = {}
        for (unit, period), _seq, entry in batch:
            counters = Counters(*entry.values)
            info = self.directory.info(unit, period_start(period))
            target = self.directory.target(unit, int(period[:4]))
            updated_at = _rfc3339(entry.updated_at)
            fields = kpi_fields(counters, period, target, today, updated_at)
            kpi_key = keys.kpi(unit, period)
            pipe.hset(kpi_key, mapping=fields)  # type: ignore[arg-type]
            absent = [f for f in OPTIONAL_FIELDS if f not in fields]
            if absent:
                pipe.hdel(kpi_key, *absent)
            for kpi, get in RANKED.items():
                rank_key = keys.rank(info.level, info.rank_scope, period, kpi)
                ratio = get(counters)
                if ratio is None:
                    pipe.zrem(rank_key, unit)
                else:
                    pipe.zadd(rank_key, {unit: float(ratio)})
            pipe.zadd(keys.periods(unit), {period: 0})
            meta = self._unit_meta(unit)
            if self._unit_written.get(unit) != meta and unit not in new_units:
                new_units[unit] = meta
                name, level, division_type, parent, province = meta
                pipe.hset(
                    keys.unit(unit),
                    mapping={
                        "code": unit,
                        "name": name,
                        "level": level,
                        "division_type": division_type,
                        "parent": parent,
                        "province": province,
                    },
                )
            change = {"unit": unit, "period": period, "updated_at": updated_at}
            pipe.publish(keys.changes, json.dumps(change, separators=(",", ":")))
            pipe.xadd(
                keys.changes,
                change,  # type: ignore[arg-type]
                maxlen=self.stream_maxlen,
                approximate=True,
            )
        pipe.hset(
            keys.meta,
            mapping={
                "schema_version": str(SCHEMA_VERSION),
                "last_flush": _rfc3339(now.timestamp()),
            },
        )
        await pipe.execute()
        self._unit_written.update(new_units)

    def _unit_meta(self, unit: str) -> tuple[str, ...]:
        """The unit hash's values: the unit as it is today (its latest version)."""
        info = self.directory.info(unit, self._clock().astimezone(VN_TZ).date())
        return (info.name, info.level, info.division_type, info.parent, info.province)
