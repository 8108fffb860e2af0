"""Calendar periods (day, month, year) of an event in Vietnam time.

Vietnam has used UTC+07:00 all year since 1975 (no daylight saving); the zone
comes from the IANA database (``tzdata`` is pinned so results never depend on
the host). A period key is a plain string so it can be used as a table key,
a Redis key part and a Prometheus label value.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo

__all__ = ["VN_TZ", "PeriodKind", "local_date", "period_keys", "period_kind", "year_of"]

VN_TZ: Final[ZoneInfo] = ZoneInfo("Asia/Ho_Chi_Minh")

PeriodKind = Literal["day", "month", "year"]

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-\d{2}")
_YEAR = re.compile(r"\d{4}")


def local_date(ts: datetime) -> date:
    """The Vietnam calendar date of an aware time.

    Raises ``ValueError`` for a naive time: the caller must decide what zone a
    naive time means (``decode_event`` already makes event times aware).
    """
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"naive datetime {ts.isoformat()!r}: an aware time is required")
    if ts.tzinfo is VN_TZ:
        return ts.date()
    return ts.astimezone(VN_TZ).date()


def period_keys(ts: datetime) -> tuple[str, str, str]:
    """The day, month and year keys of ``ts`` in Vietnam time.

    >>> from datetime import timezone
    >>> period_keys(datetime(2021, 12, 31, 23, 30, tzinfo=timezone.utc))
    ('2022-01-01', '2022-01', '2022')
    """
    day = local_date(ts).isoformat()
    return day, day[:7], day[:4]


def period_kind(key: str) -> PeriodKind:
    """Whether ``key`` is a day ("2022-03-01"), month ("2022-03") or year ("2022") key."""
    if _DAY.fullmatch(key):
        date.fromisoformat(key)  # rejects 2022-02-30
        return "day"
    if _MONTH.fullmatch(key):
        if not 1 <= int(key[5:]) <= 12:
            raise ValueError(f"not a period key: {key!r} (month out of range)")
        return "month"
    if _YEAR.fullmatch(key):
        return "year"
    raise ValueError(f"not a period key: {key!r}")


def year_of(key: str) -> int:
    """The calendar year a period key belongs to."""
    period_kind(key)
    return int(key[:4])


def period_start(period: str) -> date:
    """The first day of a period key ("2022", "2022-03", "2022-03-01")."""
    kind = period_kind(period)
    if kind == "day":
        return date.fromisoformat(period)
    if kind == "month":
        return date(int(period[:4]), int(period[5:7]), 1)
    return date(int(period), 1, 1)
