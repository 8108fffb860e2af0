"""The ``event_time`` rule: RFC 3339, as paywatch reads it (docs/event-time.md says the same).

- RFC 3339 ``date-time``: ``YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)``, ``T`` or ``t``,
  ``Z`` or ``z``. Not RFC 3339, so refused: ``+0700`` or ``+07`` (the offset needs its colon),
  a missing seconds field, ``24:00:00``, a comma before the fraction, an offset of 24 hours or
  more.
- A leap second (``:60``) is valid where one can be inserted: 23:59:60 UTC on the last day of a
  month (RFC 3339 section 5.7). It is read as 23:59:59.999999 UTC, the last instant Python can
  hold in that second, so it stays on its own day in every zone.
- Two extensions, both documented: no offset means Vietnam time (Asia/Ho_Chi_Minh), and a space
  may stand for the ``T`` (RFC 3339 section 5.6 allows it by agreement).
- Fractions beyond microseconds are rounded to the nearest microsecond (half up).
- The year is checked after conversion to Vietnam time (in :class:`models.events.PaymentEvent`):
  ``2099-12-31T23:59:59-12:00`` is 2100 in Vietnam and is refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final, TypeVar

from models.periods import VN_TZ

__all__ = ["EXPECTED", "parse_event_time"]

#: What a valid value looks like, for messages.
EXPECTED: Final = "an RFC 3339 date and time, e.g. 2022-03-01T09:30:00+07:00"

_RFC3339: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
#: The usual form, which ``datetime.fromisoformat`` (C code) reads exactly as the rule says: no
#: leap second, at most microseconds, an offset in range. Anything else takes the long way.
_USUAL: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
)
_ONE_MICROSECOND: Final = timedelta(microseconds=1)

Time = TypeVar("Time", bound=datetime)


def parse_event_time(text: str, kind: type[Time] = datetime) -> Time:  # type: ignore[assignment]
    """``text`` as an aware ``kind`` (a datetime) in Vietnam time; ``ValueError`` saying what
    is wrong."""
    if _USUAL.fullmatch(text):
        # fromisoformat itself refuses month 13, 30 February, hour 24 and the like.
        stamp = kind.fromisoformat(text)
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=VN_TZ)
        return stamp.astimezone(VN_TZ)
    return _parse_in_full(text, kind)


def _parse_in_full(text: str, kind: type[Time]) -> Time:
    match = _RFC3339.fullmatch(text)
    if match is None:
        if "T" not in text.upper() and " " not in text:
            raise ValueError("a date and a time are both required")
        raise ValueError(f"not {EXPECTED}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    zone = _zone(offset)
    leap = second == "60"
    micro = 0
    if fraction:
        micro = int(fraction[:6].ljust(6, "0"))
    # datetime itself refuses month 13, 30 February, hour 24 and the like, with its own words.
    stamp = kind(
        int(year), int(month), int(day), int(hour), int(minute), 59 if leap else int(second),
        999_999 if leap else micro, tzinfo=zone,
    )  # fmt: skip
    if leap:
        _check_leap_second(stamp)
    elif fraction and len(fraction) > 6 and fraction[6] >= "5":
        stamp += _ONE_MICROSECOND
    return stamp.astimezone(VN_TZ)


def _zone(offset: str | None) -> tzinfo:
    if offset is None:
        return VN_TZ
    if offset in ("Z", "z"):
        return UTC
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f"UTC offset {offset} is out of range (at most ±23:59)")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if offset[0] == "-" else delta)


def _check_leap_second(stamp: datetime) -> None:
    utc = stamp.astimezone(UTC)
    last_of_month = (utc + timedelta(days=1)).day == 1
    if (utc.hour, utc.minute) != (23, 59) or not last_of_month:
        raise ValueError(
            "second 60 (a leap second) is only valid at 23:59:60 UTC on the last day of a month"
        )
