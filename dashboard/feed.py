"""The change feed of one dashboard process: one subscription to the live view's change channel,
fanned out to every open page as Server-Sent Events.

A pub/sub message only wakes the feed; what it sends comes from the change *stream*
(``XRANGE`` after the last id read), so every batch carries the stream id of its newest entry.
A browser that reconnects names that id (``Last-Event-ID``) and is sent the rows changed since
(:meth:`ChangeFeed.catch_up`), not everything again. The rows of a batch are read once and
encoded once per view, however many pages show it. When Redis goes away the feed reconnects
with backoff, subscribes again and tells every page to fetch its view again (``reset``), as it
does when the view's ``generation`` changes (Redis lost its data and the workers rewrote it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from dashboard.views import COMPACT_FIELDS, View
from sinks.backoff import Backoff
from sinks.live_reader import Change, LiveReader, stream_id_after

__all__ = ["CATCH_UP_MAX", "RESET", "ChangeFeed", "Subscriber", "sse"]

log = logging.getLogger(__name__)

_FAILURES: Final = (RedisError, OSError, asyncio.TimeoutError)
#: Entries a reconnecting page may be behind; further behind, it fetches its view again.
CATCH_UP_MAX: Final = 20_000
#: Batches a slow page may have queued; beyond, it is dropped and reconnects (and catches up).
QUEUE_MAX: Final = 256

Row = tuple[str, str, dict[str, str]]


def sse(event: str, data: object, event_id: str | None = None) -> bytes:
    """One Server-Sent Event (data as one line of compact JSON)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


#: Tells a page to fetch its view again; its stream ends after it (the page opens a new one).
RESET: Final = sse("reset", {})


def cursor(generation: str, stream_id: str) -> str:
    """The id a page resumes from: the dataset's generation and a change stream id."""
    return f"{generation}/{stream_id}"


def parse_cursor(value: str) -> tuple[str, str] | None:
    generation, _, stream_id = value.partition("/")
    ms, _, seq = stream_id.partition("-")
    if not (ms.isdigit() and seq.isdigit()):
        return None
    return generation, stream_id


@dataclass(eq=False)
class Subscriber:
    """One open page: its view and the events waiting to be written to it."""

    view: View
    queue: asyncio.Queue[tuple[str | None, bytes]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_MAX)
    )
    dropped: bool = False

    def put(self, stream_id: str | None, payload: bytes) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait((stream_id, payload))
        except asyncio.QueueFull:
            self.dropped = True  # the writer ends the response; the page reconnects


def _fields(period: str) -> list[str] | None:
    return None if len(period) == 4 else list(COMPACT_FIELDS)


def _age_s(updated_at: str | None, now_s: float) -> float | None:
    if not updated_at:
        return None
    try:
        stamp = datetime.fromisoformat(updated_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, now_s - stamp.timestamp())


class ChangeFeed:
    """Use: ``feed = ChangeFeed(url, prefix)``, ``await feed.start()``; per page
    ``sub = feed.subscribe(view)`` … ``feed.unsubscribe(sub)``; ``await feed.stop()``."""

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        stale_after_s: float = 120.0,
        coalesce_s: float = 0.1,
        tick_s: float = 1.0,
        backoff: Backoff | None = None,
        client: aioredis.Redis | None = None,
    ) -> None:
        self.client = client or aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=3,
            retry=Retry(NoBackoff(), 0),  # the feed retries, with its own backoff
        )
        self.reader = LiveReader(self.client, prefix)
        self.stale_after_s = stale_after_s
        self.coalesce_s = coalesce_s
        self.tick_s = tick_s
        self._backoff = backoff or Backoff(base_s=0.2, cap_s=5.0)
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self.generation = ""
        self.stream_id = "0-0"  # the newest change stream entry read
        self.newest_update: str | None = None  # updated_at of that entry
        self.redis_ok = False
        self.batches = 0
        self.resets = 0
        self._ready = asyncio.Event()

    # -- pages --------------------------------------------------------------------------
    def subscribe(self, view: View) -> Subscriber:
        sub = Subscriber(view)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def end_pages(self) -> None:
        """Tell every open page's writer to finish (the server stops)."""
        for sub in list(self._subscribers):
            sub.put(None, b"")

    @property
    def pages(self) -> int:
        return len(self._subscribers)

    def status(self) -> dict[str, object]:
        age_s = _age_s(self.newest_update, time.time())
        return {
            "redis": self.redis_ok,
            "newest_update": self.newest_update,
            "age_s": age_s,
            "stale_after_s": self.stale_after_s,
            "stale": (not self.redis_ok) or age_s is None or age_s > self.stale_after_s,
        }

    def cursor(self) -> str:
        return cursor(self.generation, self.stream_id)

    async def catch_up(self, view: View, since: str) -> tuple[str, bytes | None] | None:
        """For a page of ``view`` that last saw ``since``: the stream id it is caught up to and
        the event with the rows of its view changed since (None: nothing changed); None when
        the page must fetch its view again (another dataset, or too far behind)."""
        parsed = parse_cursor(since)
        if parsed is None or parsed[0] != self.generation:
            return None
        stream_id = parsed[1]
        changes = await self.reader.changes_after(stream_id, CATCH_UP_MAX + 1)
        if len(changes) > CATCH_UP_MAX:
            return None
        oldest = await self.reader.oldest_change_id()
        if oldest is not None and stream_id != "0-0" and stream_id_after(oldest, stream_id):
            return None  # entries after `since` may have been trimmed away
        if not changes:
            return stream_id, None
        last = changes[-1].id
        rows = await self._read(self._covered(changes, [view]))
        shown = [r for r in rows if view.covers(r[0], r[1])]
        payload = {"rows": shown, "oldest": changes[0].id}
        return last, sse("rows", payload, cursor(self.generation, last))

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="change-feed")

    async def wait_ready(self, timeout_s: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout_s)
        return self._ready.is_set()

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.aclose()

    async def _run(self) -> None:
        first = True
        while True:
            try:
                await self._session(first)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down or refusing: say so, back off, reconnect
                if self.redis_ok:
                    log.warning("dashboard feed: Redis failed (%s: %s)", type(exc).__name__, exc)
                self.redis_ok = False
                self._broadcast(None, sse("status", self.status()))
                await asyncio.sleep(self._backoff.next())
            first = False

    async def _session(self, first: bool) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.reader.keys.changes)
            generation = await self.reader.generation()
            newest = await self.reader.newest_change()
            if not first or generation != self.generation:
                self.resets += 1
                self._broadcast(None, RESET)
            self.generation = generation
            self.stream_id = newest.id if newest else "0-0"
            self.newest_update = newest.updated_at if newest else None
            self.redis_ok = True
            self._backoff.reset()
            self._ready.set()
            self._broadcast(None, sse("status", self.status()))
            next_tick_s = time.monotonic() + self.tick_s
            while True:
                wait_s = max(0.0, next_tick_s - time.monotonic())
                message = await pubsub.get_message(timeout=wait_s)
                if message is not None:
                    await asyncio.sleep(self.coalesce_s)
                    while await pubsub.get_message(timeout=0) is not None:
                        pass
                    await self._drain()
                if time.monotonic() >= next_tick_s:
                    await self._tick()
                    next_tick_s = time.monotonic() + self.tick_s
        finally:
            with contextlib.suppress(*_FAILURES):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _tick(self) -> None:
        """Once a second: the dataset's generation, missed entries, and the freshness."""
        generation = await self.reader.generation()
        if generation != self.generation:
            self.generation = generation
            newest = await self.reader.newest_change()
            self.stream_id = newest.id if newest else "0-0"
            self.resets += 1
            self._broadcast(None, RESET)
        await self._drain()
        self._broadcast(None, sse("status", self.status()))

    async def _drain(self) -> None:
        """Send the rows changed since the last entry read, to the pages that show them."""
        while True:
            changes = await self.reader.changes_after(self.stream_id, 5000)
            if not changes:
                return
            last = changes[-1]
            self.stream_id, self.newest_update = last.id, last.updated_at
            views = {sub.view.key: sub.view for sub in self._subscribers}
            if views:
                rows = await self._read(self._covered(changes, views.values()))
                event_id = cursor(self.generation, last.id)
                self._publish(last.id, event_id, rows, changes[0].id)
            self.batches += 1
            if len(changes) < 5000:
                return

    @staticmethod
    def _covered(changes: Iterable[Change], views: Iterable[View]) -> list[tuple[str, str]]:
        wanted = dict.fromkeys((c.unit, c.period) for c in changes)
        views = list(views)
        return [key for key in wanted if any(v.covers(*key) for v in views)]

    async def _read(self, keys: list[tuple[str, str]]) -> list[Row]:
        answers = await self.reader.rows([(u, p, _fields(p)) for u, p in keys])
        return [(u, p, fields) for (u, p), fields in zip(keys, answers, strict=True)]

    def _publish(self, stream_id: str, event_id: str, rows: list[Row], oldest: str) -> None:
        """Queue ``rows`` for every page that shows some of them; ``oldest``: the first change
        stream id the batch answers (its Redis time; the benchmark measures from it)."""
        encoded: dict[tuple[str, str, str], bytes | None] = {}
        for sub in list(self._subscribers):
            view = sub.view
            payload = encoded.get(view.key, b"")
            if payload == b"":
                shown = [r for r in rows if view.covers(r[0], r[1])]
                payload = encoded[view.key] = (
                    sse("rows", {"rows": shown, "oldest": oldest}, event_id) if shown else None
                )
            if payload is not None:
                sub.put(stream_id, payload)

    def _broadcast(self, stream_id: str | None, payload: bytes) -> None:
        for sub in list(self._subscribers):
            sub.put(stream_id, payload)
