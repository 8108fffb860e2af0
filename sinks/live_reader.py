"""The one reader of the Redis live view (key schema v1, :mod:`sinks.redis_schema`; written by
:mod:`sinks.redis_view`), for the dashboard and the command line (`paywatch status`,
`paywatch report`): hashes in one pipelined round trip, rankings, how current the view is, the
change stream by id. The client must be made with ``decode_responses=True``.

Stream ids of the change stream ``{prefix}:v1:changes`` are Redis's own (``ms-seq``); a reader
that missed entries asks for those after the last id it saw, and learns when they are gone
(trimmed by ``MAXLEN``, or the whole dataset lost: a new ``generation`` in the meta hash).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import redis
import redis.asyncio as aioredis

from models.event_clock import WINDOW, current_year
from models.periods import period_kind
from sinks.redis_schema import GENERATION_FIELD, Keys

__all__ = [
    "Change",
    "Freshness",
    "LiveReader",
    "LiveViewError",
    "stream_id_after",
]


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change stream: (unit, period) was written at ``updated_at``."""

    id: str
    unit: str
    period: str
    updated_at: str


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def stream_id_after(a: str, b: str) -> bool:
    """Whether stream id ``a`` comes after ``b`` (ids compare as (ms, seq), not as text)."""
    return _id_key(a) > _id_key(b)


def _changes(entries: Iterable[tuple[str, dict[str, str]]]) -> list[Change]:
    return [
        Change(
            entry_id, fields.get("unit", ""), fields.get("period", ""), fields.get("updated_at", "")
        )
        for entry_id, fields in entries
    ]


class LiveReader:
    """Typed async reads of the live view under ``{prefix}:v1:``."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.keys = Keys(prefix)

    async def rows(
        self, wanted: Sequence[tuple[str, str, Sequence[str] | None]]
    ) -> list[dict[str, str]]:
        """The kpi hash of each (unit, period): every field (None) or only those named; an
        absent field is left out (undefined), an absent row is ``{}``."""
        if not wanted:
            return []
        pipe = self.client.pipeline(transaction=False)
        for unit, period, fields in wanted:
            key = self.keys.kpi(unit, period)
            if fields is None:
                pipe.hgetall(key)
            else:
                pipe.hmget(key, list(fields))
        answers = await pipe.execute()
        out: list[dict[str, str]] = []
        for (_, _, fields), answer in zip(wanted, answers, strict=True):
            if fields is None:
                out.append(cast(dict[str, str], answer))
            else:
                out.append({f: v for f, v in zip(fields, answer, strict=True) if v is not None})
        return out

    async def periods(self, codes: Sequence[str]) -> dict[str, list[str]]:
        """The period keys each unit has in the view (year, its months, their days, in order)."""
        pipe = self.client.pipeline(transaction=False)
        for code in codes:
            pipe.zrange(self.keys.periods(code), 0, -1)
        answers = await pipe.execute()
        return {code: cast(list[str], a) for code, a in zip(codes, answers, strict=True)}

    async def recent_day_events(
        self, code: str, days: Sequence[str], enough: int, chunk: int = 64
    ) -> dict[date, int]:
        """Events (payments and reversals) of ``code`` per day, newest of ``days`` first, until
        ``enough`` are in or the days run out: what :func:`models.event_clock.current_year`
        judges the current day on."""
        newest_first = sorted(days, reverse=True)
        counts: dict[date, int] = {}
        total = 0
        for start in range(0, len(newest_first), chunk):
            part = newest_first[start : start + chunk]
            rows = await self.rows([(code, day, ("paid", "reversed")) for day in part])
            for day, row in zip(part, rows, strict=True):
                events = int(row.get("paid", 0)) + int(row.get("reversed", 0))
                counts[date.fromisoformat(day)] = events
                total += events
            if total >= enough:
                break
        return counts

    async def check(self) -> None:
        """Redis answers and accepts the password, or :class:`LiveViewError` says what to do."""
        kwargs = self.client.connection_pool.connection_kwargs
        where = f"redis://***@{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"
        try:
            await self.client.ping()
        except redis.AuthenticationError as exc:
            problem = (
                f"Redis refused the password ({exc})"
                if kwargs.get("password")
                else "Redis wants a password and the URL gives none"
            )
            raise LiveViewError(
                f"PAYWATCH_REDIS_URL={where}: {problem}; put the password Redis expects in the "
                "URL (redis://:PASSWORD@HOST:PORT/DB)"
            ) from None
        except redis.RedisError as exc:
            raise LiveViewError(
                f"PAYWATCH_REDIS_URL={where}: cannot reach Redis ({exc}); start the stack with "
                "`make up` or point PAYWATCH_REDIS_URL at the live view"
            ) from None

    async def kpi(self, code: str, period: str) -> dict[str, str]:
        """Every field of one kpi hash (``{}``: no such row)."""
        return (await self.rows([(code, period, None)]))[0]

    async def rank(self, ranking: str, code: str) -> tuple[int | None, int]:
        """(1-based position of ``code``, best ratio first, or None; size of the ranking)."""
        position = cast(int | None, await self.client.zrevrank(ranking, code))
        size: int = await self.client.zcard(ranking)
        return (None if position is None else position + 1), size

    async def freshness(self, province: str) -> Freshness:
        last_written = cast(str | None, await self.client.hget(self.keys.meta, "last_flush"))
        days = [p for p in (await self.periods([province]))[province] if period_kind(p) == "day"]
        return Freshness(last_written, max(days) if days else None)

    async def current_year(
        self,
        code: str,
        today: date,
        pinned: date | None = None,
        periods: Sequence[str] | None = None,
    ) -> str | None:
        """The year of the current day (:func:`models.event_clock.current_year`) as the view
        shows it for a unit: the bulk of its newest payment days, so one payment dated a year
        ahead does not switch it; None when the unit has no payments yet. ``periods``: the
        unit's periods, when the caller has read them already."""
        if pinned is not None:
            return str(pinned.year)
        if periods is None:
            periods = (await self.periods([code]))[code]
        days = [p for p in periods if period_kind(p) == "day"]
        counts = await self.recent_day_events(code, days, WINDOW)
        return current_year(counts, [p for p in periods if period_kind(p) == "year"], today)

    async def sub_period(self, code: str, period: str) -> str | None:
        """The newest month of a year, or the newest day of a month, the unit has data for."""
        kind = period_kind(period)
        if kind == "day":
            return None
        want = "month" if kind == "year" else "day"
        inside = [
            p
            for p in (await self.periods([code]))[code]
            if p.startswith(period + "-") and period_kind(p) == want
        ]
        return max(inside) if inside else None

    async def generation(self) -> str:
        """The id of the dataset the view was written into ("" before any write)."""
        value = await self.client.hget(self.keys.meta, GENERATION_FIELD)
        return cast(str | None, value) or ""

    async def newest_change(self) -> Change | None:
        entries = await self.client.xrevrange(self.keys.changes, count=1)
        found = _changes(cast(list[tuple[str, dict[str, str]]], entries))
        return found[0] if found else None

    async def oldest_change_id(self) -> str | None:
        entries = await self.client.xrange(self.keys.changes, count=1)
        found = _changes(cast(list[tuple[str, dict[str, str]]], entries))
        return found[0].id if found else None

    async def changes_after(self, stream_id: str, count: int) -> list[Change]:
        """Up to ``count`` entries after ``stream_id``, oldest first."""
        entries: Any = await self.client.xrange(self.keys.changes, min=f"({stream_id}", count=count)
        return _changes(entries)


class LiveViewError(Exception):
    """Redis cannot be read; the message says what to do."""


@dataclass(frozen=True)
class Freshness:
    """How current the live view is: when it was last written, the newest day it holds."""

    last_written: str | None  # RFC 3339 UTC of the view's last flush
    newest_day: str | None  # the newest day period the province has payments in
