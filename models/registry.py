"""The unit registry: effective-dated units and hierarchy, with fast look-ups.

Every unit version and every parent link carries validity dates, so an event maps
to the hierarchy in force on its (Vietnam) date, and a GSO code reused by another
unit after a reform resolves to the right unit on each date. Chains of ancestors
are precomputed per code as date segments: :meth:`Registry.chain` is one dict
look-up plus a date comparison per segment (usually one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from models import gso, gso2025
from models.departments import department_rows
from models.gso import gso_rows
from models.gso2025 import reform_rows
from models.registry_rows import (
    Level,
    ParentLink,
    RegistryError,
    Unit,
    end_of,
    validate_rows,
)

__all__ = [
    "Level",
    "ParentLink",
    "Registry",
    "RegistryError",
    "Unit",
    "national_provinces",
    "validate_rows",
]

_LEVEL_ORDER: Final = {
    Level.PROVINCE: 0,
    Level.DEPARTMENT: 1,
    Level.DISTRICT: 2,
    Level.COMMUNE: 3,
}


@dataclass(frozen=True, slots=True)
class _Segment:
    start: date
    stop: date  # inclusive; date.max when open
    chain: tuple[str, ...]
    unit: Unit


class Registry:
    """Units and their hierarchy over time. Build with :meth:`load` or :meth:`from_rows`."""

    def __init__(
        self,
        units: Sequence[Unit],
        links: Sequence[ParentLink],
        scope: Collection[str] | None = None,
    ) -> None:
        validate_rows(units, links)
        #: The province codes the registry was loaded for; None = all (whole country or rows).
        self.scope: frozenset[str] | None = None if scope is None else frozenset(scope)
        self._versions: dict[str, tuple[Unit, ...]] = {}
        grouped: dict[str, list[Unit]] = defaultdict(list)
        for unit in units:
            grouped[unit.code].append(unit)
        for code, rows in grouped.items():
            self._versions[code] = tuple(sorted(rows, key=lambda u: u.valid_from))
        self._links: dict[str, tuple[ParentLink, ...]] = {}
        by_child: dict[str, list[ParentLink]] = defaultdict(list)
        for link in links:
            by_child[link.child].append(link)
        for code, rows2 in by_child.items():
            self._links[code] = tuple(sorted(rows2, key=lambda k: k.valid_from))
        self._segments: dict[str, tuple[_Segment, ...]] = {}
        for code in self._versions:
            self._segments_of(code)
        self._all: tuple[Unit, ...] = tuple(
            sorted(
                (u for rows3 in self._versions.values() for u in rows3),
                key=lambda u: (u.province_code, _LEVEL_ORDER[u.level], u.code, u.valid_from),
            )
        )

    @classmethod
    def from_rows(cls, units: Sequence[Unit], links: Sequence[ParentLink]) -> Registry:
        """A registry from explicit rows (validated; raises :class:`RegistryError`)."""
        return cls(units, links)

    @classmethod
    def load(cls, provinces: Collection[str] | None = None) -> Registry:
        """Both structures: pre-2025 and from 1 July 2025, plus the shipped departments.

        The pre-reform units (``vietnam-provinces`` 0.5.0: provinces, districts, communes)
        are valid 2020-01-01..2025-06-30; the post-reform ones (``vietnamadminunits``
        1.0.4: provinces and communes directly under them) from 2025-07-01, open-ended.
        A code in both is two versions of that code.

        ``provinces=None`` loads the whole country; ``{"17"}`` loads every unit version
        that belongs to province 17 (Hòa Bình, pre-reform only: code 17 was retired);
        ``{"25"}`` loads old Phú Thọ and the new Phú Thọ (which took in Hòa Bình and Vĩnh
        Phúc). A unit belongs to the province of its version. Codes are GSO's zero-padded
        strings ("01", "17"); "1" is read as "01".
        """
        wanted = None if provinces is None else {p.zfill(2) for p in provinces}
        old_codes = set(gso.province_codes())
        new_codes = set(gso2025.province_codes())
        if wanted is not None:
            unknown = sorted(wanted - old_codes - new_codes)
            if unknown:
                raise RegistryError(
                    f"unknown province code(s) {unknown}; known: 01..96 as in GSO "
                    f"(before 2025-07-01: {len(old_codes)}, from then: {len(new_codes)})"
                )
        units, links = gso_rows(None if wanted is None else wanted & old_codes)
        new_units, new_links = reform_rows(None if wanted is None else wanted & new_codes)
        dept_units, dept_links = department_rows(wanted)
        return cls(units + new_units + dept_units, links + new_links + dept_links, wanted)

    def _segments_of(self, code: str) -> tuple[_Segment, ...]:
        done = self._segments.get(code)
        if done is not None:
            return done
        segments: list[_Segment] = []
        links = self._links.get(code, ())
        for unit in self._versions.get(code, ()):
            u_start, u_stop = unit.valid_from, end_of(unit.valid_to)
            if not links:
                segments.append(_Segment(u_start, u_stop, (code,), unit))
                continue
            for link in links:
                start = max(u_start, link.valid_from)
                stop = min(u_stop, end_of(link.valid_to))
                if start > stop:
                    continue
                for above in self._segments_of(link.parent):
                    s, e = max(start, above.start), min(stop, above.stop)
                    if s <= e:
                        segments.append(_Segment(s, e, (code, *above.chain), unit))
        result = tuple(sorted(segments, key=lambda seg: seg.start))
        self._segments[code] = result
        return result

    def _segment(self, code: str, on: date) -> _Segment | None:
        for segment in self._segments.get(code, ()):
            if segment.start <= on <= segment.stop:
                return segment
        return None

    def chain(self, code: str, on: date) -> tuple[str, ...]:
        """``(code, parent, ..., province)`` in force on ``on``; ``()`` if unknown on that day."""
        for segment in self._segments.get(code, ()):
            if segment.start <= on <= segment.stop:
                return segment.chain
        return ()

    def steady_span(self, code: str, on: date) -> tuple[date, date]:
        """The first and last day around ``on`` over which :meth:`resolve`, :meth:`parent` and
        :meth:`chain` answer for ``code`` as they do on ``on``: one version of the unit under
        one chain, or a gap between two (or before the first, or after the last)."""
        first, last = date.min, date.max
        for segment in self._segments.get(code, ()):
            if segment.start <= on <= segment.stop:
                return segment.start, segment.stop
            if segment.stop < on:
                first = max(first, segment.stop + timedelta(days=1))
            else:
                last = min(last, segment.start - timedelta(days=1))
        return first, last

    def resolve(self, code: str, on: date) -> Unit | None:
        """The unit that carries ``code`` on ``on``, or None."""
        segment = self._segment(code, on)
        return None if segment is None else segment.unit

    def parent(self, code: str, on: date) -> str | None:
        """The parent's code on ``on`` (None for a province or an unknown code)."""
        segment = self._segment(code, on)
        if segment is None or len(segment.chain) < 2:
            return None
        return segment.chain[1]

    def name(self, code: str, on: date) -> str | None:
        """Display name of ``code`` on ``on``."""
        unit = self.resolve(code, on)
        return None if unit is None else unit.name

    def versions(self, code: str) -> tuple[Unit, ...]:
        """Every version of ``code``, oldest first (empty if never known)."""
        return self._versions.get(code, ())

    def units(
        self,
        level: Level | None = None,
        province: str | None = None,
        on: date | None = None,
    ) -> list[Unit]:
        """Units (versions) filtered by level, province and day in force (None = any).

        Ordered by province, level (province, departments, districts, communes), code.
        """
        return [
            u
            for u in self._all
            if (level is None or u.level is level)
            and (province is None or u.province_code == province)
            and (on is None or u.valid_from <= on <= end_of(u.valid_to))
        ]

    def children(self, code: str, on: date) -> list[str]:
        """Codes whose parent is ``code`` on ``on``."""
        return sorted(
            child
            for child, segments in self._segments.items()
            for s in segments
            if s.start <= on <= s.stop and len(s.chain) > 1 and s.chain[1] == code
        )

    def provinces(self) -> frozenset[str]:
        """Codes of every province version in the registry (any date)."""
        return frozenset(u.code for u in self._all if u.level is Level.PROVINCE)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._versions.values())

    def __contains__(self, code: object) -> bool:
        return code in self._versions


def national_provinces(first: date, last: date) -> frozenset[str]:
    """Province codes in force somewhere in Vietnam on some day of ``first..last``.

    From the package data, whatever a registry was loaded for: lets a registry of one
    province tell another real province (out of its scope) from an unknown code.
    """
    codes: set[str] = set()
    if first <= gso.PACKAGE_VALID_TO and last >= gso.PACKAGE_VALID_FROM:
        codes.update(gso.province_codes())
    if last >= gso2025.REFORM_VALID_FROM:
        codes.update(gso2025.province_codes())
    return frozenset(codes)
