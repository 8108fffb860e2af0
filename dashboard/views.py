"""What each page of the dashboard shows, as rows of the live view (pure: no Redis, no server).

A *view* is a head unit and a year. The overview of a province and the drill-down of a district
show the head and its children (districts and departments, or communes, wards and towns); the
unit page shows one unit over the whole year. The registry says which units a view lists (so a
unit with no payments yet shows as such), their names and the targets file's targets for units
without data; every figure comes from Redis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from models.periods import period_kind
from models.registry import Level, Registry
from models.targets import Targets

__all__ = [
    "COMPACT_FIELDS",
    "SPARK_DAYS",
    "Kind",
    "UnitCard",
    "View",
    "ViewError",
    "default_kind",
    "plan_view",
]

#: Days in the sparkline of a ranked row.
SPARK_DAYS: Final = 30
#: The fields a month or day row is sent with (a year row is sent whole).
COMPACT_FIELDS: Final = (
    "transactions",
    "transactions_online",
    "dossiers",
    "dossiers_online",
    "ratio_transactions",
    "ratio_dossiers",
    "target",
    "updated_at",
)


class ViewError(ValueError):
    """A view that cannot be shown (unknown unit, a bad year); the message says why."""


class Kind(StrEnum):
    CHILDREN = "children"  # province overview, district drill-down
    UNIT = "unit"  # one unit's year


@dataclass(frozen=True, slots=True)
class UnitCard:
    """A unit as the page lists it; ``target`` is the targets file's (None: none set)."""

    code: str
    name: str
    level: str
    division_type: str
    parent: str
    target: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "division_type": self.division_type,
            "parent": self.parent,
            "target": self.target,
        }


@dataclass(frozen=True)
class View:
    kind: Kind
    head: UnitCard
    year: str
    units: tuple[UnitCard, ...]  # the head first, then its children (CHILDREN) or nothing
    ancestors: tuple[UnitCard, ...]  # province first: the page's breadcrumbs
    members: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", frozenset(u.code for u in self.units))

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.value, self.head.code, self.year)

    def covers(self, unit: str, period: str) -> bool:
        """Whether a change of (unit, period) is shown by this view."""
        return unit in self.members and period[:4] == self.year

    def wanted(self, periods: dict[str, list[str]]) -> list[tuple[str, str, Sequence[str] | None]]:
        """The rows to read for a snapshot, given each member's period keys in Redis."""
        year = self.year
        window = self._window(periods.get(self.head.code, []))
        out: list[tuple[str, str, Sequence[str] | None]] = []
        for unit in self.units:
            out.append((unit.code, year, None))
            for period in periods.get(unit.code, []):
                if period[:4] != year or period == year:
                    continue
                if period_kind(period) == "day" and window is not None and period not in window:
                    continue
                out.append((unit.code, period, COMPACT_FIELDS))
        return out

    def _window(self, head_periods: Iterable[str]) -> frozenset[str] | None:
        """The days a children view sends: the last SPARK_DAYS up to the head's newest day of
        the year (None: every day, the unit page)."""
        if self.kind is Kind.UNIT:
            return None
        days = [p for p in head_periods if p[:4] == self.year and period_kind(p) == "day"]
        if not days:
            return frozenset()
        last = date.fromisoformat(max(days))
        return frozenset((last - timedelta(days=n)).isoformat() for n in range(SPARK_DAYS))


def _card(registry: Registry, targets: Targets | None, code: str, on: date) -> UnitCard | None:
    unit = registry.resolve(code, on)
    if unit is None:
        return None
    target = targets.target(code, on.year) if targets is not None else None
    return UnitCard(
        code=code,
        name=unit.name,
        level=unit.level.value,
        division_type=unit.division_type,
        parent=registry.parent(code, on) or "",
        target=None if target is None else float(target),
    )


def plan_view(
    registry: Registry, targets: Targets | None, kind: Kind, code: str, year: str
) -> View:
    """The view of ``code`` in ``year``; :class:`ViewError` for an unknown unit or year."""
    if not (len(year) == 4 and year.isdigit()):
        raise ViewError(f"year {year!r}: expected four digits such as 2022")
    on = date(int(year), 1, 1)
    head = _card(registry, targets, code, on)
    if head is None:
        raise ViewError(f"unit {code!r} is not in the registry on {on.isoformat()}")
    if kind is Kind.CHILDREN:
        children = [_card(registry, targets, c, on) for c in registry.children(code, on)]
        units = (head, *(c for c in children if c is not None))
    else:
        units = (head,)
    chain = registry.chain(code, on)[1:]
    ancestors = tuple(
        card for c in reversed(chain) if (card := _card(registry, targets, c, on)) is not None
    )
    return View(kind, head, year, units, ancestors)


def default_kind(level: str) -> Kind:
    """Provinces and districts open on their children; communes and departments on their year."""
    return Kind.CHILDREN if level in {Level.PROVINCE, Level.DISTRICT} else Kind.UNIT
