"""`paywatch status`: a table of units read from the Redis live view, for a person to scan.

Everything shown comes from Redis (the same values dashboards read); the registry only says
which units to list and their names, so a unit with no payments yet shows as such instead of
being missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from fractions import Fraction

from models.kpi import TREND_THRESHOLD, gap_to_target, ratio
from models.periods import VN_TZ, period_kind, period_start
from models.registry import Level, Registry
from models.targets import Targets
from sinks.live_reader import Freshness, LiveReader, LiveViewError


class StatusError(LiveViewError):
    """Redis holds nothing to show yet; the message says what to run."""


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


async def read_status(
    view: LiveReader,
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
    await view.check()
    if not any(u.level is Level.PROVINCE for u in registry.versions(province)):
        raise StatusError(
            f"--province {province!r} is not a configured province; give one of "
            "PAYWATCH_PROVINCES (or set PAYWATCH_PROVINCES to include it)"
        )
    if not period:
        today = today or datetime.now(UTC).astimezone(VN_TZ).date()
        period = await view.current_year(province, today, pinned)
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
        fields = await view.kpi(code, period)
        sub = await view.sub_period(code, period)
        recent = _float((await view.kpi(code, sub)).get(f"ratio_{kpi}")) if sub else None
        scope = "all" if unit.level is Level.PROVINCE else unit.province_code
        position, size = await view.rank(view.keys.rank(unit.level.value, scope, period, kpi), code)
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
