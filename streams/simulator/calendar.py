"""Working days, public holidays and office hours in Vietnam time: how busy each hour is.

The portal's rhythm: one-stop counters open 7:30-11:30 and 13:30-17:00 on working days (some
communes also on Saturday morning); online payment works around the clock but most people pay
during the day. Holidays: 1 Jan, Tết (several days around the lunar new year), Hùng Kings'
day, 30 Apr and 1 May, 2 Sep (and a day next to it from 2021).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from models.periods import VN_TZ

__all__ = ["TET", "Slot", "hour_slots", "is_holiday", "tet_of"]

#: Lunar new year's day (mùng 1 Tết).
TET: Final[dict[int, date]] = {
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
}
_HUNG_KINGS: Final[dict[int, date]] = {
    2020: date(2020, 4, 2),
    2021: date(2021, 4, 21),
    2022: date(2022, 4, 10),
    2023: date(2023, 4, 29),
    2024: date(2024, 4, 18),
    2025: date(2025, 4, 7),
    2026: date(2026, 4, 26),
}
_OFFICE: Final = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
# Relative busyness of each office hour (people come early in the morning and mid-afternoon).
_HOUR_SHAPE: Final[dict[int, float]] = {
    7: 0.5,
    8: 1.3,
    9: 1.4,
    10: 1.2,
    11: 0.6,
    13: 0.5,
    14: 1.2,
    15: 1.3,
    16: 0.9,
}
_EVENING: Final[dict[int, float]] = {
    6: 0.02,
    12: 0.08,
    17: 0.06,
    18: 0.05,
    19: 0.06,
    20: 0.07,
    21: 0.05,
    22: 0.03,
    23: 0.015,
}
_NIGHT: Final = 0.004


def tet_of(year: int) -> date | None:
    return TET.get(year)


def is_holiday(day: date) -> bool:
    """A public holiday in Vietnam (counters closed)."""
    md = (day.month, day.day)
    if md in {(1, 1), (4, 30), (5, 1), (9, 2)}:
        return True
    if md in {(9, 1), (9, 3)} and day.year >= 2021:
        return True
    for candidate in (TET.get(day.year), TET.get(day.year + 1)):
        if candidate is not None and -2 <= (day - candidate).days <= 4:
            return True
    return _HUNG_KINGS.get(day.year) == day


def _office_share(hour: int) -> float:
    """Fraction of the hour inside office hours (7:30 and 11:30 cut hours in half)."""
    start, stop = datetime(2000, 1, 1, hour), datetime(2000, 1, 1, hour) + timedelta(hours=1)
    inside = timedelta()
    for a, b in _OFFICE:
        lo = max(start, datetime.combine(start.date(), a))
        hi = min(stop, datetime.combine(start.date(), b))
        if hi > lo:
            inside += hi - lo
    return inside / timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Slot:
    """One local hour: its start (aware, Vietnam time), relative volume, the share of that volume
    that comes while the counters are open, and whether it is a working day."""

    start: datetime
    weight: float
    office: float
    working_day: bool


def _day_factor(day: date) -> float:
    """Seasonality: a year-end rush in December, quieter just after Tết, month-end busier."""
    factor = 1.0
    if day.month == 12:
        factor *= 1.3
    if day.day >= 25:
        factor *= 1.1
    tet = TET.get(day.year)
    if tet is not None and 5 <= (day - tet).days <= 12:
        factor *= 0.7
    return factor


def hour_slots(start: date, end: date) -> Iterator[Slot]:
    """Every local hour from ``start`` 00:00 to ``end`` 23:00 with its expected relative volume."""
    day = start
    while day <= end:
        holiday = is_holiday(day)
        weekday = day.weekday()
        working = weekday < 5 and not holiday
        saturday = weekday == 5 and not holiday
        factor = _day_factor(day)
        for hour in range(24):
            office = _office_share(hour) if working else 0.0
            if working:
                counter = _HOUR_SHAPE.get(hour, 0.0) * office
                weight = counter + _EVENING.get(hour, _NIGHT)
                office = counter / weight
            elif saturday and 8 <= hour < 11:
                office = 1.0
                weight = 0.15
            else:
                weight = 0.3 * _EVENING.get(hour, _NIGHT)
            yield Slot(
                datetime.combine(day, time(hour), tzinfo=VN_TZ),
                weight * factor,
                office,
                working,
            )
        day += timedelta(days=1)
