"""Named scenarios (streams/simulator/scenarios.py): each one's records still equal the recount,
and each departs from the everyday shape as it says."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from models.event_decode import decode_event
from models.events import EventError, Kind
from models.periods import local_date
from models.registry import Registry
from streams.simulator import SCENARIOS, SimConfig, Simulation
from tests.recount import recount


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenarios_agree_with_the_recount(hoa_binh: Registry, scenario: str) -> None:
    config = SimConfig(
        count=4000, seed=5, scenario=scenario, start=date(2022, 12, 1), end=date(2023, 2, 28)
    )
    sim = Simulation(config, hoa_binh)
    records = [r.value for r in sim]
    assert sim.truth.counter_dict() == recount(records, hoa_binh).counters


def _online_share(
    sim: Simulation, records: list[bytes], units: frozenset[str], lo: datetime, hi: datetime
) -> float:
    online = total = 0
    for raw in records:
        try:
            event = decode_event(raw)
        except EventError:
            continue
        if event.unit_code in units and lo <= event.event_time < hi and event.kind is Kind.PAYMENT:
            total += 1
            online += event.channel.is_online
    return online / total if total else float("nan")


def test_bank_outage_collapses_online_share(hoa_binh: Registry) -> None:
    config = SimConfig(
        count=60_000,
        seed=2,
        scenario="bank-outage",
        start=date(2022, 11, 1),
        end=date(2022, 11, 30),
        late_share=0.0,
    )
    sim = Simulation(config, hoa_binh)
    records = [r.value for r in sim]
    outage = sim.scenario.outage
    assert outage is not None
    units = sim.scenario.outage_units
    during = _online_share(sim, records, units, *outage)
    week = timedelta(days=7)
    before = _online_share(sim, records, units, outage[0] - week, outage[1] - week)
    assert during < 0.05 < before


def test_quiet_holiday_is_almost_silent(hoa_binh: Registry) -> None:
    config = SimConfig(
        count=30_000,
        seed=2,
        scenario="quiet-holiday",
        start=date(2023, 1, 1),
        end=date(2023, 2, 28),
        late_share=0.0,
    )
    sim = Simulation(config, hoa_binh)
    quiet = sim.scenario.quiet
    assert quiet is not None and quiet[0] <= date(2023, 1, 22) <= quiet[1]
    days: Counter[date] = Counter()
    for record in sim:
        with contextlib.suppress(EventError):
            days[local_date(decode_event(record.value).event_time)] += 1
    quiet_days = [n for d, n in days.items() if quiet[0] <= d <= quiet[1]]
    working = [n for d, n in days.items() if not quiet[0] <= d <= quiet[1] and d.weekday() < 5]
    # almost nothing: a quiet day sees under a tenth of an ordinary working day
    assert sum(quiet_days) / (quiet[1] - quiet[0]).days < 0.1 * sum(working) / len(working)


@pytest.fixture(scope="module")
def outage_sim(hoa_binh: Registry) -> Simulation:
    config = SimConfig(count=0, seed=3, scenario="bank-outage", end=date(2022, 12, 31))
    return Simulation(config, hoa_binh)


def test_the_bank_outage_is_four_hours_of_a_working_day_for_a_district_and_two_departments(
    outage_sim: Simulation,
) -> None:
    scenario = outage_sim.scenario
    assert scenario.outage is not None
    begin, end = scenario.outage
    assert begin.weekday() < 5 and (begin.hour, end - begin) == (9, timedelta(hours=4))
    assert sum("." in code for code in scenario.outage_units) == 2  # the departments
    unit = sorted(scenario.outage_units)[0]
    assert scenario.online_down(unit, begin) and not scenario.online_down(unit, end)
    assert not scenario.online_down("not-a-unit", begin)


def test_a_late_district_lags_then_catches_up(hoa_binh: Registry) -> None:
    sim = Simulation(SimConfig(count=0, seed=3, scenario="late-catch-up"), hoa_binh)
    scenario = sim.scenario
    assert scenario.catch_up_from is not None
    profile = sim.population.by_code[sorted(scenario.catch_up_units)[0]]
    before = datetime.combine(scenario.catch_up_from - timedelta(days=1), datetime.min.time())
    after = datetime.combine(scenario.catch_up_from + timedelta(days=30), datetime.min.time())
    assert scenario.online_share(profile, before, 0.2) == pytest.approx(0.05)
    assert scenario.online_share(profile, after, 0.2) == pytest.approx(0.5)


def test_an_unknown_scenario_is_refused_with_the_known_ones(hoa_binh: Registry) -> None:
    with pytest.raises(ValueError, match="unknown scenario 'flood'; known: default, bank-outage"):
        Simulation(SimConfig(count=0, scenario="flood"), hoa_binh)
