"""`paywatch status`: a table of units read from the Redis live view, for a person to scan.

Everything shown comes from Redis (the same values dashboards read); the registry only says
which units to list and their names, so a unit with no payments yet shows as such instead of
being missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import cast

import redis

from models.event_clock import WINDOW, current_year
from models.kpi import TREND_THRESHOLD, gap_to_target, ratio
from models.periods import VN_TZ, period_kind
from models.registry import Level, Registry
from models.targets import Targets
from sinks.redis_schema import Keys
from sinks.units import period_start


class StatusError(Exception):
    """Redis cannot be read, or holds nothing to show yet; the message says what to run."""


@dataclass(frozen=True)
class UnitStatus:
    code: str
    name: str
    level: str
    period: str
    ratio: float | None
    target: float | None
    gap: float | None
    trend: str  # "up", "down", "flat" or "" when there is no recent sub-period to compare
    rank: int | None
    ranked: int
    kpi: str  # transactions, dossiers or amount: what ratio, target, gap, online, total are of
    online: int  # online transactions, online dossiers or online VND
    total: int  # all transactions, all dossiers or all VND
    updated_at: str | None  # when the unit's counters for the period last changed (UTC)

    def as_dict(self) -> dict[str, object]:
        """For ``--json``: the figures named as in the live view (``dossiers_online`` ...)."""
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "period": self.period,
            "kpi": self.kpi,
            "ratio": self.ratio,
            "target": self.target,
            "gap": self.gap,
            "trend": self.trend,
            "rank": self.rank,
            "ranked": self.ranked,
            self.kpi: self.total,
            f"{self.kpi}_online": self.online,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Freshness:
    """How current the live view is: when it was last written, the newest day it holds."""

    last_written: str | None  # RFC 3339 UTC of the view's last flush
    newest_day: str | None  # the newest day period the province has payments in


class LiveView:
    """Typed reads of the Redis live view (a client made with decode_responses=True)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.keys = Keys(prefix)

    def check(self) -> None:
        """Redis answers and accepts the password, or :class:`StatusError` says what to do."""
        kwargs = self.client.connection_pool.connection_kwargs
        where = f"redis://***@{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"
        try:
            self.client.ping()
        except redis.AuthenticationError as exc:
            problem = (
                f"Redis refused the password ({exc})"
                if kwargs.get("password")
                else "Redis wants a password and the URL gives none"
            )
            raise StatusError(
                f"PAYWATCH_REDIS_URL={where}: {problem}; put the password Redis expects in the "
                "URL (redis://:PASSWORD@HOST:PORT/DB)"
            ) from None
        except redis.RedisError as exc:
            raise StatusError(
                f"PAYWATCH_REDIS_URL={where}: cannot reach Redis ({exc}); start the stack with "
                "`make up` or point PAYWATCH_REDIS_URL at the live view"
            ) from None

    def kpi(self, code: str, period: str) -> dict[str, str]:
        return cast(dict[str, str], self.client.hgetall(self.keys.kpi(code, period)))

    def periods(self, code: str) -> list[str]:
        return cast(list[str], self.client.zrange(self.keys.periods(code), 0, -1))

    def rank(self, ranking: str, code: str) -> tuple[int | None, int]:
        """(1-based position of ``code``, best ratio first, or None; size of the ranking)."""
        position = cast(int | None, self.client.zrevrank(ranking, code))
        size: int = self.client.zcard(ranking)
        return (None if position is None else position + 1), size

    def freshness(self, province: str) -> Freshness:
        last_written = cast(str | None, self.client.hget(self.keys.meta, "last_flush"))
        days = [p for p in self.periods(province) if period_kind(p) == "day"]
        return Freshness(last_written, max(days) if days else None)

    def current_year(self, code: str, today: date, pinned: date | None = None) -> str | None:
        """The year of the current day (models/event_clock.py) as the live view shows it for a
        unit: the bulk of its newest payment days, so one payment dated a year ahead does not
        switch the default (without day rows, the newest year); None when the unit has no
        payments yet."""
        if pinned is not None:
            return str(pinned.year)
        periods = self.periods(code)
        days = sorted((p for p in periods if period_kind(p) == "day"), reverse=True)
        counts: dict[date, int] = {}
        total = 0
        for start in range(0, len(days), 64):
            chunk = days[start : start + 64]
            pipe = self.client.pipeline(transaction=False)
            for day in chunk:
                pipe.hmget(self.keys.kpi(code, day), "paid", "reversed")
            for day, (paid, reversed_) in zip(chunk, pipe.execute(), strict=True):
                events = int(paid or 0) + int(reversed_ or 0)
                counts[date.fromisoformat(day)] = events
                total += events
            if total >= WINDOW:
                break
        return current_year(counts, [p for p in periods if period_kind(p) == "year"], today)

    def sub_period(self, code: str, period: str) -> str | None:
        """The newest month of a year, or the newest day of a month, the unit has data for."""
        kind = period_kind(period)
        if kind == "day":
            return None
        want = "month" if kind == "year" else "day"
        inside = [
            p for p in self.periods(code) if p.startswith(period + "-") and period_kind(p) == want
        ]
        return max(inside) if inside else None


def caption(freshness: Freshness, now: datetime) -> str:
    """As of when (Vietnam time), when the view was last written, the newest payment day."""
    now = now.astimezone(VN_TZ)
    parts = [f"as of {now:%Y-%m-%d %H:%M:%S} Vietnam time"]
    if freshness.last_written:
        written = datetime.fromisoformat(freshness.last_written.replace("Z", "+00:00"))
        written = written.astimezone(VN_TZ)
        same_day = written.date() == now.date()
        parts.append(
            f"view written {written:%H:%M:%S}"
            if same_day
            else f"view written {written:%Y-%m-%d %H:%M:%S}"
        )
    shown = "; ".join(parts)
    if freshness.newest_day:
        shown += f"\nnewest payments {freshness.newest_day}"
    return shown


def _float(value: str | None) -> float | None:
    return None if value is None else float(value)


def _trend(recent: float | None, whole: float | None) -> str:
    if recent is None or whole is None:
        return ""
    if recent > whole + TREND_THRESHOLD:
        return "up"
    if recent < whole - TREND_THRESHOLD:
        return "down"
    return "flat"


def _target(
    fields: dict[str, str], targets: Targets | None, code: str, period: str
) -> float | None:
    """The target the live view shows; for a unit without payments yet, the targets file's."""
    shown = _float(fields.get("target"))
    if shown is None and targets is not None:
        target = targets.target(code, int(period[:4]))
        shown = None if target is None else float(target)
    return shown


def _gap(fields: dict[str, str], kpi: str, target: float | None) -> float | None:
    """The live view's gap for transactions and dossiers; for amount (which the view does not
    hold) the same arithmetic, exactly, on the amounts and the target."""
    if kpi != "amount":
        return _float(fields.get("gap_dossiers" if kpi == "dossiers" else "gap"))
    share = ratio(int(fields.get("amount_online", 0)), int(fields.get("amount", 0)))
    gap = gap_to_target(share, None if target is None else Fraction(repr(target)))
    return None if gap is None else float(gap)


def _checked_period(period: str) -> str:
    try:
        period_kind(period)
    except ValueError:
        raise StatusError(
            f"--period {period!r} is not a period: give a year (2022), a month (2022-03) "
            "or a day (2022-03-01)"
        ) from None
    return period


def read_status(
    view: LiveView,
    registry: Registry,
    province: str,
    period: str | None,
    level: Level | None,
    parent: str | None,
    kpi: str,
    targets: Targets | None = None,
    pinned: date | None = None,
    today: date | None = None,
) -> list[UnitStatus]:
    """The status rows in ranking order (best ratio first; units with no payments last). With
    no ``period``: the current year (``pinned``'s, or that of the bulk of the newest payment
    days; ``today`` is the wall clock's day in Vietnam unless given)."""
    view.check()
    if not any(u.level is Level.PROVINCE for u in registry.versions(province)):
        raise StatusError(
            f"--province {province!r} is not a configured province; give one of "
            "PAYWATCH_PROVINCES (or set PAYWATCH_PROVINCES to include it)"
        )
    if not period:
        today = today or datetime.now(UTC).astimezone(VN_TZ).date()
        period = view.current_year(province, today, pinned)
    else:
        period = _checked_period(period)
    if period is None:
        raise StatusError(
            f"no paywatch data in Redis for province {province} under {view.keys.base!r} yet; "
            "start the stack with `make up`, or backfill with `paywatch replay FILE`"
        )
    on: date = period_start(period)
    if parent is not None:
        if registry.resolve(parent, on) is None:
            raise StatusError(
                f"--parent {parent!r}: no unit has that code in {period}; give a province, "
                "district or department code (e.g. from `paywatch status --level district`)"
            )
        codes = registry.children(parent, on)
        if not codes:
            raise StatusError(
                f"--parent {parent!r}: {registry.name(parent, on)} has no units under it in "
                f"{period}; give a province or district code"
            )
    else:
        codes = sorted(u.code for u in registry.units(level or Level.DISTRICT, province, on))
    rows = []
    for code in codes:
        unit = registry.resolve(code, on)
        if unit is None:
            continue
        fields = view.kpi(code, period)
        sub = view.sub_period(code, period)
        recent = _float(view.kpi(code, sub).get(f"ratio_{kpi}")) if sub else None
        scope = "all" if unit.level is Level.PROVINCE else unit.province_code
        position, size = view.rank(view.keys.rank(unit.level.value, scope, period, kpi), code)
        share = _float(fields.get(f"ratio_{kpi}"))
        target = _target(fields, targets, code, period)
        rows.append(
            UnitStatus(
                code=code,
                name=unit.name,
                level=unit.level.value,
                period=period,
                ratio=share,
                target=target,
                gap=_gap(fields, kpi, target),
                trend=_trend(recent, share),
                rank=position,
                ranked=size,
                kpi=kpi,
                online=int(fields.get(f"{kpi}_online", 0)),
                total=int(fields.get(kpi, 0)),
                updated_at=fields.get("updated_at"),
            )
        )
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, -(r.ratio or 0.0), r.code))
    return rows
