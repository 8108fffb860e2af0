"""`paywatch status`: a table of units read from the Redis live view, for a person to scan.

Everything shown comes from Redis (the same values dashboards read); the registry only says
which units to list and their names, so a unit with no payments yet shows as such instead of
being missing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import cast

import redis

from models.periods import period_kind
from models.registry import Level, Registry
from models.targets import Targets
from sinks.redis_schema import Keys
from sinks.units import period_start

#: How far the recent ratio must move away from the period's ratio to count as a trend.
TREND_THRESHOLD = 0.005


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
    transactions: int
    transactions_online: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class LiveView:
    """Typed reads of the Redis live view (a client made with decode_responses=True)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.keys = Keys(prefix)

    def ping(self) -> None:
        self.client.ping()

    def kpi(self, code: str, period: str) -> dict[str, str]:
        return cast(dict[str, str], self.client.hgetall(self.keys.kpi(code, period)))

    def periods(self, code: str) -> list[str]:
        return cast(list[str], self.client.zrange(self.keys.periods(code), 0, -1))

    def rank(self, ranking: str, code: str) -> tuple[int | None, int]:
        """(1-based position of ``code``, best ratio first, or None; size of the ranking)."""
        position = cast(int | None, self.client.zrevrank(ranking, code))
        size: int = self.client.zcard(ranking)
        return (None if position is None else position + 1), size

    def latest_year(self, code: str) -> str | None:
        """The newest year period the live view holds for a unit."""
        years = [p for p in self.periods(code) if period_kind(p) == "year"]
        return max(years) if years else None

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


def read_status(
    view: LiveView,
    registry: Registry,
    province: str,
    period: str | None,
    level: Level | None,
    parent: str | None,
    kpi: str,
    targets: Targets | None = None,
) -> list[UnitStatus]:
    """The status rows in ranking order (best ratio first; units with no payments last)."""
    try:
        view.ping()
    except redis.AuthenticationError as exc:
        raise StatusError(f"Redis refused the password ({exc}); check PAYWATCH_REDIS_URL") from None
    except redis.RedisError as exc:
        raise StatusError(
            f"cannot reach Redis ({exc}); start the stack with `make up` "
            "or point PAYWATCH_REDIS_URL at the live view"
        ) from None
    period = period or view.latest_year(province)
    if period is None:
        raise StatusError(
            f"no paywatch data in Redis for province {province} under {view.keys.base!r} yet; "
            "start the stack with `make up`, or backfill with `paywatch replay FILE`"
        )
    on: date = period_start(period)
    if parent is not None:
        codes = registry.children(parent, on)
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
        ratio = _float(fields.get(f"ratio_{kpi}"))
        suffix = "_dossiers" if kpi == "dossiers" else ""
        rows.append(
            UnitStatus(
                code=code,
                name=unit.name,
                level=unit.level.value,
                period=period,
                ratio=ratio,
                target=_target(fields, targets, code, period),
                gap=_float(fields.get(f"gap{suffix}")) if kpi != "amount" else None,
                trend=_trend(recent, ratio),
                rank=position,
                ranked=size,
                transactions=int(fields.get("transactions", 0)),
                transactions_online=int(fields.get("transactions_online", 0)),
            )
        )
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, -(r.ratio or 0.0), r.code))
    return rows
