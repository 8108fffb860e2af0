"""Vietnam's working calendar (streams/simulator/calendar.py): holidays, office hours and how
busy each hour is."""

from __future__ import annotations

from datetime import date

import pytest

from models.periods import VN_TZ
from streams.simulator.calendar import hour_slots, is_holiday, tet_of


@pytest.mark.parametrize(
    "day",
    [
        date(2023, 1, 1),  # new year
        date(2023, 1, 20),  # two days before Tết 2023
        date(2023, 1, 26),  # four days after it
        date(2022, 4, 10),  # Hùng Kings' day 2022
        date(2022, 4, 30),
        date(2022, 5, 1),
        date(2022, 9, 2),
        date(2022, 9, 1),  # the day next to 2 Sep, from 2021
    ],
)
def test_public_holidays(day: date) -> None:
    assert is_holiday(day)


@pytest.mark.parametrize(
    "day", [date(2023, 1, 19), date(2023, 1, 27), date(2020, 9, 1), date(2022, 3, 1)]
)
def test_ordinary_days(day: date) -> None:
    assert not is_holiday(day)


def test_lunar_new_year_is_known_for_the_simulated_years_only() -> None:
    assert tet_of(2023) == date(2023, 1, 22)
    assert tet_of(1999) is None


def test_every_local_hour_of_the_range_once_in_vietnam_time() -> None:
    slots = list(hour_slots(date(2022, 2, 28), date(2022, 3, 6)))
    assert len(slots) == 7 * 24
    assert all(s.start.tzinfo is VN_TZ for s in slots)
    assert [s.start for s in slots] == sorted({s.start for s in slots})
    assert all(s.weight > 0 and 0.0 <= s.office <= 1.0 for s in slots)


def test_counters_open_on_working_days_and_saturday_mornings_only() -> None:
    # Tuesday 1 March 2022, Saturday 5 March, Sunday 6 March
    slots = {(s.start.day, s.start.hour): s for s in hour_slots(date(2022, 3, 1), date(2022, 3, 6))}
    tuesday_9, tuesday_3am = slots[(1, 9)], slots[(1, 3)]
    assert tuesday_9.working_day and tuesday_9.office > 0.9
    assert tuesday_3am.office == 0.0 and tuesday_3am.weight < tuesday_9.weight / 100
    assert slots[(1, 12)].office == 0.0  # lunch
    assert slots[(5, 9)].office == 1.0 and not slots[(5, 9)].working_day
    assert slots[(5, 14)].office == 0.0
    assert all(slots[(6, hour)].office == 0.0 for hour in range(24))
    busiest = max(slots.values(), key=lambda s: s.weight)
    assert busiest.start.weekday() < 5 and 8 <= busiest.start.hour <= 16


def test_a_holiday_is_quieter_than_a_working_day() -> None:
    def day_weight(day: date) -> float:
        return sum(s.weight for s in hour_slots(day, day))

    assert day_weight(date(2022, 9, 2)) < 0.2 * day_weight(date(2022, 9, 6))
