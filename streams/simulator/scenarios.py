"""Named scenarios: deliberate departures from the everyday shape, for demos and alert tests.

- ``default``: the everyday portal (holidays and weekends quiet, adoption drifting).
- ``bank-outage``: on one working day, from 09:00 to 13:00, online payment fails for one district
  (with its communes) and two departments: their online share collapses to almost nothing.
- ``late-catch-up``: one district lags far below its usual online share for most of the range,
  then catches up sharply in the last quarter of it (late in the year).
- ``quiet-holiday``: Tết (or, if the range holds no Tết, a week in its middle) is almost silent for
  about ten days.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from models.periods import VN_TZ
from models.registry_rows import Level
from streams.simulator.calendar import TET, is_holiday
from streams.simulator.population import Population, UnitProfile

__all__ = ["SCENARIOS", "Scenario", "make_scenario"]

SCENARIOS = ("default", "bank-outage", "late-catch-up", "quiet-holiday")


@dataclass(frozen=True)
class Scenario:
    """Multipliers applied on top of the everyday shape; the default changes nothing."""

    name: str = "default"
    description: str = "the everyday portal"
    quiet: tuple[date, date] | None = None  # inclusive local dates with almost no volume
    quiet_factor: float = 0.01
    outage: tuple[datetime, datetime] | None = None  # online payment down for these units
    outage_units: frozenset[str] = field(default_factory=frozenset)
    catch_up_units: frozenset[str] = field(default_factory=frozenset)
    catch_up_from: date | None = None

    def volume_factor(self, day: date) -> float:
        if self.quiet is not None and self.quiet[0] <= day <= self.quiet[1]:
            return self.quiet_factor
        return 1.0

    def online_down(self, code: str, when: datetime) -> bool:
        """Whether online payment is down for unit ``code`` at ``when`` (bank outage)."""
        return (
            self.outage is not None
            and code in self.outage_units
            and self.outage[0] <= when < self.outage[1]
        )

    def online_share(self, profile: UnitProfile, when: datetime, base: float) -> float:
        if self.online_down(profile.code, when):
            return 0.0
        if self.catch_up_from is not None and profile.code in self.catch_up_units:
            day = when.date()
            if day < self.catch_up_from:
                return base * 0.25
            ramp = min(1.0, (day - self.catch_up_from).days / 21)
            return min(0.95, base * 0.25 + ramp * (base * 0.75 + 0.3))
        return base


def make_scenario(name: str, start: date, end: date, population: Population, seed: int) -> Scenario:
    """The scenario ``name`` placed inside [start, end] (deterministic for a seed)."""
    rng = random.Random(f"scenario:{name}:{seed}")
    span = (end - start).days
    middle = start + timedelta(days=span // 2)
    if name == "default":
        return Scenario()
    if name == "quiet-holiday":
        tets = [d for d in TET.values() if start <= d <= end]
        first, last = (
            (tets[0] - timedelta(days=3), tets[0] + timedelta(days=6))
            if tets
            else (middle - timedelta(days=3), middle + timedelta(days=3))
        )
        return Scenario(name, f"almost no payments from {first} to {last}", quiet=(first, last))
    if name == "bank-outage":
        day = middle
        while (day.weekday() >= 5 or is_holiday(day)) and day < end:
            day += timedelta(days=1)
        begin = datetime.combine(day, time(9), tzinfo=VN_TZ)
        district = rng.choice(population.districts())
        departments = sorted(p.code for p in population.profiles if p.level is Level.DEPARTMENT)
        units = {district} | {p.code for p in population.profiles if p.district == district}
        units |= set(rng.sample(departments, min(2, len(departments))))
        return Scenario(
            name,
            f"online payment down {begin:%Y-%m-%d %H:%M}-13:00 for district {district}, its "
            f"communes and {', '.join(sorted(u for u in units if '.' in u))}",
            outage=(begin, begin + timedelta(hours=4)),
            outage_units=frozenset(units),
        )
    if name == "late-catch-up":
        districts = population.districts()
        district = rng.choice(districts[1:] or districts)
        units = {district} | {p.code for p in population.profiles if p.district == district}
        since = start + timedelta(days=span * 3 // 4)
        return Scenario(
            name,
            f"district {district} and its communes lag far behind, then catch up from {since}",
            catch_up_units=frozenset(units),
            catch_up_from=since,
        )
    raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
