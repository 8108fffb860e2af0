"""The "current" day of the stream: which year, month and day the live gauges and `paywatch
status` call current. docs/event-time.md states the same rule for operators.

- Pinned: an operator may name the day (``PAYWATCH_CURRENT_DAY``); nothing else then matters.
- Live: when the bulk of recent events is from today or yesterday (Vietnam time, wall clock),
  the current day is today.
- Backfill: otherwise it is the bulk's day: the newest day that at least :data:`SHARE` of the
  recent events (and at least :data:`MIN_SUPPORT` of them) fall on or after. One event dated a
  year ahead in a backfill, or a handful, never moves it. In a worker it never goes back.
- An event dated more than a tolerance after the wall clock is *future-dated*: it is counted in
  its own periods like any event (so counts stay equal to a recount of the same input) but it
  is flagged (a metric) and left out of the bulk.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Final

__all__ = [
    "MIN_SUPPORT",
    "SHARE",
    "WINDOW",
    "EventClock",
    "bulk_day",
    "current_day",
    "current_year",
    "day_of_epoch",
]

#: How many recent events the bulk is judged on.
WINDOW: Final = 10_000
#: The share of those events the current day and later days must hold between them.
SHARE: Final = 0.01
#: ... and at least this many events (a small window).
MIN_SUPPORT: Final = 10

_VN_OFFSET_S: Final = 7 * 3600  # Vietnam has kept UTC+07:00 all year since 1975
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


def day_of_epoch(epoch_s: float) -> int:
    """The proleptic ordinal of the Vietnam date of a Unix time (cheap: no datetime made)."""
    return _EPOCH_ORDINAL + int((epoch_s + _VN_OFFSET_S) // 86_400)


def bulk_day(
    counts: Mapping[date, int],
    window: int = WINDOW,
    share: float = SHARE,
    min_support: int = MIN_SUPPORT,
) -> date | None:
    """The newest day that the bulk of the newest ``window`` events (by day) reaches: the
    newest day on or after which at least ``max(min_support, share * events)`` of them fall.
    With fewer events than that, the oldest of them; None without any."""
    recent: list[tuple[date, int]] = []
    total = 0
    for day in sorted((d for d, n in counts.items() if n > 0), reverse=True):
        recent.append((day, counts[day]))
        total += counts[day]
        if total >= window:
            break
    if not recent:
        return None
    support = max(min_support, math.ceil(share * min(total, window)))
    seen = 0
    for day, count in recent:
        seen += count
        if seen >= support:
            return day
    return recent[-1][0]


def current_day(bulk: date | None, today: date, pinned: date | None = None) -> date:
    """The current day: ``pinned`` if set; today when the bulk is live (today or yesterday,
    or later) or unknown; else the bulk's day (a backfill)."""
    if pinned is not None:
        return pinned
    if bulk is None or bulk >= today - timedelta(days=1):
        return today
    return bulk


def current_year(
    counts: Mapping[date, int], years: Sequence[str], today: date, pinned: date | None = None
) -> str | None:
    """The year a reader of the live view shows by default for a unit: the current day's, from
    the unit's event ``counts`` per day (its newest :data:`WINDOW` or more); without day rows
    the newest of its ``years``; None when it has neither."""
    if pinned is not None:
        return str(pinned.year)
    bulk = bulk_day(counts)
    if bulk is None:
        return max(years) if years else None
    return str(current_day(bulk, today).year)


class EventClock:
    """A worker's current day, fed one event time at a time.

    The bulk is judged on the last ``window`` events in the order they were counted (after a
    restart, on the rows read back: :meth:`seed`). The backfill day it gives never goes back
    (rows of the month and day that are no longer current are dropped from the worker's
    metrics)."""

    def __init__(
        self, pinned: date | None = None, future_tolerance_s: float = 600.0, window: int = WINDOW
    ) -> None:
        self.pinned = pinned
        self.future_tolerance_s = future_tolerance_s
        self.future_events = 0
        self._recent: deque[int] = deque(maxlen=window)
        self._counts: Counter[int] = Counter()
        self._backfill: date | None = None
        self._changed = False

    @property
    def known(self) -> bool:
        """Whether the current day is known: pinned, or some event was seen."""
        return self.pinned is not None or bool(self._recent)

    def saw(self, event_time_s: float, now_s: float) -> bool:
        """One counted event (Unix times); False, and counted as future-dated, when its time
        is more than the tolerance after ``now_s``."""
        if event_time_s > now_s + self.future_tolerance_s:
            self.future_events += 1
            return False
        self._add(day_of_epoch(event_time_s))
        return True

    def seed(self, counts: Mapping[date, int]) -> None:
        """Events known by day only (counter rows read back after a restart or a rebalance,
        while newer events are being counted): older than every event seen, they fill the
        window's free room only, newest day first."""
        recent = self._recent
        room = (recent.maxlen or 0) - len(recent)
        for day in sorted(counts, reverse=True):
            if room <= 0:
                break
            n = min(counts[day], room)
            ordinal = day.toordinal()
            recent.extendleft(itertools.repeat(ordinal, n))
            self._counts[ordinal] += n
            room -= n
        self._changed = True

    def _add(self, ordinal: int) -> None:
        recent = self._recent
        if len(recent) == recent.maxlen:
            gone = recent[0]
            self._counts[gone] -= 1
            if not self._counts[gone]:
                del self._counts[gone]
        recent.append(ordinal)
        self._counts[ordinal] += 1
        self._changed = True

    def bulk(self) -> date | None:
        """The bulk's day of the window now (None before any event)."""
        found = bulk_day(
            {date.fromordinal(o): n for o, n in self._counts.items()},
            window=self._recent.maxlen or WINDOW,
        )
        return found

    def day(self, today: date) -> date:
        """The current day, given today's date (Vietnam, wall clock)."""
        if self.pinned is not None:
            return self.pinned
        if self._changed:
            self._changed = False
            bulk = self.bulk()
            if bulk is not None and (self._backfill is None or bulk > self._backfill):
                self._backfill = bulk
        return current_day(self._backfill, today)
