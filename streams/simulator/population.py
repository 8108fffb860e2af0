"""The units that receive dossiers: how busy each one is and how much of it is paid online.

Volume: departments handle the most dossiers each, then district People's Committees, then
communes (wards and towns more than rural communes; the provincial capital more than other
districts). Online adoption: each unit starts from a level-typical share and drifts month by
month (an upward trend plus a random walk), so units differ and change over time.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from datetime import date

from models.registry import Registry
from models.registry_rows import Level, Unit

__all__ = ["Population", "UnitProfile"]

_LEVEL_VOLUME = {Level.DEPARTMENT: 9.0, Level.DISTRICT: 6.0, Level.COMMUNE: 1.0}
_TYPE_VOLUME = {"phường": 2.5, "thị trấn": 1.8, "thành phố": 1.6}
_LEVEL_ADOPTION = {Level.DEPARTMENT: 0.26, Level.DISTRICT: 0.17, Level.COMMUNE: 0.06}
_TYPE_ADOPTION = {"phường": 0.08, "thị trấn": 0.04, "thành phố": 0.06}


@dataclass(frozen=True, slots=True)
class UnitProfile:
    """A unit that handles dossiers: its volume weight and online adoption month by month."""

    unit: Unit
    district: str | None  # the district a commune belongs to (at its start), else None
    weight: float
    adoption_by_month: tuple[float, ...]  # index = months since the simulation's first month

    @property
    def code(self) -> str:
        return self.unit.code

    @property
    def level(self) -> Level:
        return self.unit.level

    def valid_on(self, day: date) -> bool:
        return self.unit.valid_from <= day and (
            self.unit.valid_to is None or day <= self.unit.valid_to
        )

    def adoption(self, month_index: int) -> float:
        months = self.adoption_by_month
        return months[min(max(month_index, 0), len(months) - 1)]


def _months(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


class Population:
    """Every unit of the configured provinces that handles dossiers, ready for weighted choice."""

    def __init__(self, profiles: list[UnitProfile], start: date) -> None:
        if not profiles:
            raise ValueError("no units to simulate (check the provinces and the date range)")
        self.profiles = profiles
        self.start = start
        self._cum = list(itertools.accumulate(p.weight for p in profiles))
        self.by_code = {p.code: p for p in profiles}

    @classmethod
    def build(
        cls, registry: Registry, provinces: tuple[str, ...], start: date, end: date, seed: int
    ) -> Population:
        rng = random.Random(f"population:{seed}")
        months = _months(start, end)
        profiles: list[UnitProfile] = []
        for province in provinces:
            capital = _capital_district(registry, province, start)
            for unit in registry.units(province=province):
                if unit.level is Level.PROVINCE or unit.valid_from > end:
                    continue
                if unit.valid_to is not None and unit.valid_to < start:
                    continue
                on = max(unit.valid_from, start)
                district = registry.parent(unit.code, on) if unit.level is Level.COMMUNE else None
                weight = _LEVEL_VOLUME[unit.level] * _TYPE_VOLUME.get(unit.division_type, 1.0)
                if capital is not None and unit.code == capital:
                    weight *= 1.8
                weight *= rng.lognormvariate(0.0, 0.45)
                base = _LEVEL_ADOPTION[unit.level] + _TYPE_ADOPTION.get(unit.division_type, 0.0)
                base = min(0.9, max(0.01, rng.gauss(base, base * 0.35)))
                trend = rng.uniform(0.002, 0.015)  # points per month
                walk, series = 0.0, []
                for month in range(months):
                    walk += rng.gauss(0.0, 0.012)
                    series.append(min(0.95, max(0.005, base + trend * month + walk)))
                profiles.append(UnitProfile(unit, district, weight, tuple(series)))
        return cls(profiles, start)

    def month_index(self, day: date) -> int:
        return (day.year - self.start.year) * 12 + day.month - self.start.month

    def pick(self, rng: random.Random, day: date) -> UnitProfile | None:
        """A unit in force on ``day``, chosen by volume weight (None if none is)."""
        for _ in range(8):
            index = bisect.bisect_right(self._cum, rng.random() * self._cum[-1])
            profile = self.profiles[min(index, len(self.profiles) - 1)]
            if profile.valid_on(day):
                return profile
        return None

    def districts(self) -> list[str]:
        return sorted({p.code for p in self.profiles if p.level is Level.DISTRICT})


def _capital_district(registry: Registry, province: str, on: date) -> str | None:
    for unit in registry.units(level=Level.DISTRICT, province=province, on=on):
        if unit.division_type == "thành phố":
            return unit.code
    return None
