"""Registry rows (units and effective-dated parent links) and their validation.

A *unit row* is one version of a unit: a code, a name and the dates it is valid
for. A code may have several versions as long as their validity does not overlap
(GSO reused codes after the 2025 reform). A *link row* says that, between two
dates, a unit's parent is another unit. Dates are inclusive; ``valid_to=None``
means "still valid".

:func:`validate_rows` checks a set of rows and raises :class:`RegistryError`
naming every offending row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from models.spelling import unit_name

__all__ = [
    "ALLOWED_PARENTS",
    "Level",
    "ParentLink",
    "RegistryError",
    "Unit",
    "describe_link",
    "describe_unit",
    "end_of",
    "validate_rows",
]


class Level(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    DEPARTMENT = "department"


#: Which levels a unit of each level may have as parent. A commune's parent is a
#: district before the 2025 reform and the province after it.
ALLOWED_PARENTS: Final[dict[Level, frozenset[Level]]] = {
    Level.PROVINCE: frozenset(),
    Level.DISTRICT: frozenset({Level.PROVINCE}),
    Level.COMMUNE: frozenset({Level.DISTRICT, Level.PROVINCE}),
    Level.DEPARTMENT: frozenset({Level.PROVINCE}),
}


class RegistryError(ValueError):
    """Registry rows that cannot be loaded; the message names every offending row."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One version of an administrative unit or department.

    ``division_type`` is the Vietnamese type ("tỉnh", "huyện", "xã", "sở", ...).
    ``province_code`` is the code of the province the unit belongs to (its own
    code for a province). Validity dates are inclusive; ``valid_to=None`` = open.
    """

    code: str
    name: str
    level: Level
    division_type: str
    province_code: str
    valid_from: date
    valid_to: date | None

    def __post_init__(self) -> None:
        # One spelling of every name, whatever the source wrote (models/spelling.py).
        object.__setattr__(self, "name", unit_name(self.name))


@dataclass(frozen=True, slots=True)
class ParentLink:
    """Between ``valid_from`` and ``valid_to`` (inclusive), ``child``'s parent is ``parent``."""

    child: str
    parent: str
    valid_from: date
    valid_to: date | None
    source: str = ""


def end_of(valid_to: date | None) -> date:
    return date.max if valid_to is None else valid_to


def _span(valid_from: date, valid_to: date | None) -> str:
    return f"{valid_from.isoformat()}..{'' if valid_to is None else valid_to.isoformat()}"


def describe_unit(unit: Unit) -> str:
    return (
        f"unit {unit.code} {unit.name!r} ({unit.level.value}, "
        f"{_span(unit.valid_from, unit.valid_to)})"
    )


def describe_link(link: ParentLink) -> str:
    where = f" [{link.source}]" if link.source else ""
    return f"link {link.child} -> {link.parent} ({_span(link.valid_from, link.valid_to)}){where}"


Interval = tuple[date, date]


def _overlap(a: Interval, b: Interval) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _uncovered(target: Interval, pieces: Iterable[Interval]) -> list[Interval]:
    """The parts of ``target`` not covered by the union of ``pieces``."""
    gaps: list[Interval] = []
    cursor = target[0]
    for start, stop in sorted(pieces):
        if stop < cursor:
            continue
        if start > target[1]:
            break
        if start > cursor:
            gaps.append((cursor, min(start.fromordinal(start.toordinal() - 1), target[1])))
        if stop >= target[1]:
            return gaps
        cursor = stop.fromordinal(stop.toordinal() + 1)
    if cursor <= target[1]:
        gaps.append((cursor, target[1]))
    return gaps


def _interval(row: Unit | ParentLink) -> Interval:
    return (row.valid_from, end_of(row.valid_to))


def _gap_text(gaps: Sequence[Interval]) -> str:
    return ", ".join(_span(a, None if b == date.max else b) for a, b in gaps)


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, problem: str, *rows: Unit | ParentLink) -> None:
        names = "; ".join(
            describe_unit(r) if isinstance(r, Unit) else describe_link(r) for r in rows
        )
        self.items.append(f"{problem}: {names}")

    def raise_if_any(self, limit: int = 25) -> None:
        if not self.items:
            return
        shown = self.items[:limit]
        more = len(self.items) - len(shown)
        tail = f"\n  ... and {more} more" if more else ""
        raise RegistryError(
            f"{len(self.items)} invalid registry row(s):\n  " + "\n  ".join(shown) + tail
        )


def validate_rows(units: Sequence[Unit], links: Sequence[ParentLink]) -> None:
    """Check registry rows; raise :class:`RegistryError` naming every bad row.

    Checks: dates in order; no two versions of a code valid on the same day; every
    link names a known child and a known parent, both in force for the whole link;
    no two links of a child on the same day; no cycle among links; parent levels as
    in :data:`ALLOWED_PARENTS`, in the same province; every non-province unit has a
    parent on every day it is valid.
    """
    errors = _Errors()
    versions: dict[str, list[Unit]] = defaultdict(list)
    for unit in units:
        if not unit.code or not unit.name:
            errors.add("empty code or name", unit)
        if unit.valid_to is not None and unit.valid_to < unit.valid_from:
            errors.add("valid_to before valid_from", unit)
        versions[unit.code].append(unit)
    for rows in versions.values():
        rows.sort(key=lambda u: u.valid_from)
        for i, first in enumerate(rows):
            for second in rows[i + 1 :]:
                if _overlap(_interval(first), _interval(second)):
                    errors.add(
                        f"duplicate code {first.code} with overlapping validity", first, second
                    )

    by_child: dict[str, list[ParentLink]] = defaultdict(list)
    for link in links:
        if link.valid_to is not None and link.valid_to < link.valid_from:
            errors.add("valid_to before valid_from", link)
            continue
        if link.child == link.parent:
            errors.add("cycle: a unit is its own parent", link)
            continue
        by_child[link.child].append(link)
        _check_link_ends(link, versions, errors)

    for child, child_links in by_child.items():
        child_links.sort(key=lambda k: k.valid_from)
        for i, link_a in enumerate(child_links):
            for link_b in child_links[i + 1 :]:
                if _overlap(_interval(link_a), _interval(link_b)):
                    errors.add(f"overlapping parent links of {child}", link_a, link_b)

    _check_cycles(by_child, errors)

    for code, rows in versions.items():
        for unit in rows:
            if unit.level is Level.PROVINCE:
                if by_child.get(code):
                    for link in by_child[code]:
                        if _overlap(_interval(link), _interval(unit)):
                            errors.add("a province cannot have a parent", unit, link)
                continue
            gaps = _uncovered(_interval(unit), (_interval(k) for k in by_child.get(code, ())))
            if gaps:
                errors.add(f"no parent on {_gap_text(gaps)}", unit)
    errors.raise_if_any()


def _check_link_ends(link: ParentLink, versions: dict[str, list[Unit]], errors: _Errors) -> None:
    span = _interval(link)
    if link.child not in versions:
        errors.add(f"unknown child {link.child}", link)
    else:
        gaps = _uncovered(span, (_interval(u) for u in versions[link.child]))
        if gaps:
            errors.add(f"child {link.child} not in force on {_gap_text(gaps)}", link)
    if link.parent not in versions:
        errors.add(f"unknown parent {link.parent}", link)
        return
    gaps = _uncovered(span, (_interval(u) for u in versions[link.parent]))
    if gaps:
        errors.add(f"parent {link.parent} not in force on {_gap_text(gaps)}", link)
    for child in versions.get(link.child, ()):
        for parent in versions[link.parent]:
            if not (_overlap(span, _interval(child)) and _overlap(span, _interval(parent))):
                continue
            if not _overlap(_interval(child), _interval(parent)):
                continue
            if parent.level not in ALLOWED_PARENTS[child.level]:
                errors.add(
                    f"a {child.level.value} cannot have a {parent.level.value} as parent",
                    link,
                    child,
                    parent,
                )
            elif child.province_code != parent.province_code:
                errors.add("child and parent belong to different provinces", link, child, parent)


def _check_cycles(by_child: dict[str, list[ParentLink]], errors: _Errors) -> None:
    """Reject any loop in the code graph (even if its links never hold on the same day)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in by_child:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[ParentLink] = []
        state[start] = 1
        while stack:
            code, index = stack[-1]
            out = by_child.get(code, [])
            if index >= len(out):
                stack.pop()
                state[code] = 2
                if path:
                    path.pop()
                continue
            stack[-1] = (code, index + 1)
            link = out[index]
            seen = state.get(link.parent)
            if seen == 1:
                first = next(i for i, k in enumerate(path) if k.child == link.parent)
                errors.add("cycle of parent links", *path[first:], link)
            elif seen is None:
                state[link.parent] = 1
                path.append(link)
                stack.append((link.parent, 0))
