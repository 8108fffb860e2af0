"""The units that receive dossiers (streams/simulator/population.py): who they are, how busy,
how far online, and the weighted choice among those in force on a day."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest

from models.registry import Registry
from models.registry_rows import Level
from streams.simulator.population import Population

START, END = date(2022, 10, 1), date(2023, 2, 28)


@pytest.fixture(scope="module")
def population(hoa_binh: Registry) -> Population:
    return Population.build(hoa_binh, ("17",), START, END, seed=1)


def test_every_unit_but_the_province_receives_dossiers(
    population: Population, hoa_binh: Registry
) -> None:
    levels = Counter(p.level for p in population.profiles)
    assert Level.PROVINCE not in levels
    assert levels[Level.COMMUNE] > levels[Level.DISTRICT] > 0 and levels[Level.DEPARTMENT] > 0
    in_force = {
        u.code for u in hoa_binh.units(province="17", on=START) if u.level != Level.PROVINCE
    }
    assert in_force <= set(population.by_code)


def test_communes_know_their_district_and_others_none(
    population: Population, hoa_binh: Registry
) -> None:
    for profile in population.profiles:
        if profile.level is Level.COMMUNE:
            assert profile.district == hoa_binh.parent(
                profile.code, max(START, profile.unit.valid_from)
            )
        else:
            assert profile.district is None


def test_adoption_is_a_share_for_every_month_and_clamped_outside(population: Population) -> None:
    months = 5  # October to February
    for profile in population.profiles:
        assert len(profile.adoption_by_month) == months
        assert all(0.005 <= share <= 0.95 for share in profile.adoption_by_month)
        assert profile.adoption(-3) == profile.adoption_by_month[0]
        assert profile.adoption(99) == profile.adoption_by_month[-1]
    assert population.month_index(date(2023, 2, 14)) == 4


def test_departments_are_busier_than_communes(population: Population) -> None:
    def mean(level: Level) -> float:
        weights = [p.weight for p in population.profiles if p.level is level]
        return sum(weights) / len(weights)

    assert mean(Level.DEPARTMENT) > mean(Level.DISTRICT) > mean(Level.COMMUNE)


def test_a_pick_is_in_force_on_its_day_and_follows_the_weights(population: Population) -> None:
    rng = random.Random(4)
    picks: Counter[Level] = Counter()
    for _ in range(20_000):
        profile = population.pick(rng, date(2022, 11, 15))
        assert profile is not None and profile.valid_on(date(2022, 11, 15))
        picks[profile.level] += 1
    total = sum(p.weight for p in population.profiles)
    commune_share = sum(p.weight for p in population.profiles if p.level is Level.COMMUNE) / total
    assert picks[Level.COMMUNE] / 20_000 == pytest.approx(commune_share, abs=0.03)


def test_the_same_seed_builds_the_same_population(hoa_binh: Registry) -> None:
    one = Population.build(hoa_binh, ("17",), START, END, seed=7)
    again = Population.build(hoa_binh, ("17",), START, END, seed=7)
    other = Population.build(hoa_binh, ("17",), START, END, seed=8)
    assert one.profiles == again.profiles != other.profiles


def test_no_units_is_refused() -> None:
    with pytest.raises(ValueError, match="no units to simulate"):
        Population([], START)
