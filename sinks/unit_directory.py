"""Unit metadata and targets as the sinks need them, looked up once and cached.

The registry is effective-dated (GSO reused codes after the 2025 reform), so metadata is
asked for a date: the live view uses the date of the period it writes, the metrics use today.
A code unknown on that date falls back to its latest version, and a code the registry never
knew gets empty metadata (the stream dead-letters unknown units, so this is a safety net).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import lru_cache
from typing import Protocol

from models.registry import Unit

__all__ = ["RegistryLike", "TargetsLike", "UnitDirectory", "UnitInfo"]


class RegistryLike(Protocol):
    """The part of :class:`models.registry.Registry` the sinks use."""

    def resolve(self, code: str, on: date) -> Unit | None: ...

    def parent(self, code: str, on: date) -> str | None: ...

    def versions(self, code: str) -> tuple[Unit, ...]: ...

    def steady_span(self, code: str, on: date) -> tuple[date, date]: ...


class TargetsLike(Protocol):
    """The part of :class:`models.targets.Targets` the sinks use."""

    def target(self, unit_code: str, year: int) -> Fraction | None: ...


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """What the sinks show about a unit: codes and level are labels, name only in the info."""

    code: str
    name: str
    level: str
    division_type: str
    parent: str  # "" for a province
    province: str

    @property
    def rank_scope(self) -> str:
        """The ranking a unit belongs to: provinces rank country-wide, others per province."""
        return "all" if self.level == "province" else self.province


class UnitDirectory:
    """Cached unit metadata (:meth:`info`) and yearly targets (:meth:`target`)."""

    def __init__(
        self, registry: RegistryLike, targets: TargetsLike | None = None, cache_size: int = 1 << 16
    ) -> None:
        self._registry = registry
        self._targets = targets
        #: Per code, (first day, last day, metadata) for each span of days asked so far.
        self._spans: dict[str, tuple[tuple[date, date, UnitInfo], ...]] = {}
        self.target = lru_cache(maxsize=cache_size)(self._target)

    def info(self, code: str, on: date) -> UnitInfo:
        """``code``'s metadata on ``on``. Cached per span of days over which the registry
        answers the same (:meth:`RegistryLike.steady_span`), not per day: the live view asks
        for every day a unit has a row, and the cache stays as small as the registry."""
        spans = self._spans.get(code, ())
        for first, last, known in spans:
            if first <= on <= last:
                return known
        first, last = self._registry.steady_span(code, on)
        info = self._info(code, on)
        self._spans[code] = (*spans, (first, last, info))
        return info

    def _info(self, code: str, on: date) -> UnitInfo:
        unit = self._registry.resolve(code, on)
        when = on
        if unit is None:
            versions = self._registry.versions(code)
            if not versions:
                return UnitInfo(code, "", "unknown", "", "", "")
            unit = versions[-1]
            when = unit.valid_from
        return UnitInfo(
            code=code,
            name=unit.name,
            level=str(unit.level),
            division_type=unit.division_type,
            parent=self._registry.parent(code, when) or "",
            province=unit.province_code,
        )

    def _target(self, code: str, year: int) -> Fraction | None:
        return None if self._targets is None else self._targets.target(code, year)
