"""The counter rows `/metrics` renders, cached by the worker that owns them: every year row (for
the monotonic totals) and the rows of the current month and day, and of later ones, which the
clock may move to (the clock is models/event_clock.py's, fed with the counted payments' event
times). Month and day rows are forgotten once the clock has moved past them."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from datetime import UTC, datetime

from models.event_clock import EventClock
from models.kpi import Counters
from models.periods import VN_TZ
from streams import counters as rows
from streams.app import Pipeline
from streams.hooks import ChangedRow

#: How long the clock's (month, day) is reused before it is worked out again: the clock itself
#: moves once a second.
TODAY_REUSE_S = 1.0


def current_time(clock: EventClock) -> datetime:
    """The time the gauges and the live view's "current" rows go by (models/event_clock.py):
    now when live or when the pinned day is today, else noon of the current day."""
    now = datetime.now(UTC)
    today = now.astimezone(VN_TZ).date()
    day = clock.day(today)
    if day == today:
        return now
    return datetime(day.year, day.month, day.day, 12, tzinfo=VN_TZ)


def month_and_day(now: datetime) -> tuple[str, str]:
    local = now.astimezone(VN_TZ)
    return local.strftime("%Y-%m"), local.strftime("%Y-%m-%d")


def table_rows(pipeline: Pipeline) -> Iterator[ChangedRow]:
    """Every counter row this worker's table holds now, as (unit, period, counter values)."""
    for key, value in pipeline.counters.items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        unit, period = rows.split_key(name)
        yield unit, period, rows.load(value).values


class CurrentRows:
    """The cache of the rows `/metrics` renders; rebuilt from the table after each rebalance
    (streams/read_back.py), so a worker exposes exactly the units of the partitions it owns."""

    def __init__(self, clock: EventClock) -> None:
        self.clock = clock
        #: (unit, period) -> the row's counter values, made Counters only when rendered: a busy
        #: worker changes far more rows between two scrapes than a scrape renders.
        self.cache: dict[tuple[str, str], tuple[int, ...]] = {}
        self._today_until_s, self._today_value = 0.0, ("", "")
        self._window = ("", "")

    @staticmethod
    def keep(period: str, month: str, day: str) -> bool:
        """Year rows, and the current month and day; and the months and days after them, which
        the clock may move to (it moves once a second, after their rows were stored).
        ``period`` is a counter row's: its length tells its kind (streams/counters.periods)."""
        size = len(period)
        return size == rows.YEAR_SIZE or period >= (month if size == rows.MONTH_SIZE else day)

    def now(self) -> datetime:
        return current_time(self.clock)

    def remember(self, changed: list[ChangedRow]) -> None:
        """A step's changed rows (a pipeline listener)."""
        month, day = self._today()
        for unit, period, values in changed:
            if self.keep(period, month, day):
                self.cache[(unit, period)] = tuple(values)

    def _today(self) -> tuple[str, str]:
        """The clock's (month, day), worked out again once a second (it is asked once per
        changed row; the clock itself moves once a second, with the metrics' sync)."""
        now_s = time.monotonic()
        if now_s >= self._today_until_s:
            self._today_until_s = now_s + TODAY_REUSE_S
            self._today_value = self.window_now()
        return self._today_value

    def clock_seeded(self) -> None:
        """The clock took older days in at once: work the (month, day) out again."""
        self._today_until_s = 0.0

    def window_now(self) -> tuple[str, str]:
        """The current (month, day); ("", "") (keep every row) until the clock has seen an
        event: the first rows counted may be of a backfill, long before today."""
        return month_and_day(self.now()) if self.clock.known else ("", "")

    def owned_rows(self) -> Iterator[tuple[str, str, Counters]]:
        """The rows /metrics renders (sinks/unit_metrics.py's view)."""
        month, day = self.window_now()
        for (unit, period), values in self.cache.items():
            if self.keep(period, month, day):
                yield unit, period, rows.as_counters(values)

    def forget(self, units: Collection[str]) -> None:
        """Drop the rows of ``units`` (their partitions went to another worker)."""
        self.cache = {k: v for k, v in self.cache.items() if k[0] not in units}

    def prune(self) -> None:
        """Forget month and day rows once the clock has moved past them."""
        month, day = self.window_now()
        if (month, day) == self._window:
            return
        self._window = (month, day)
        # In place: in a backfill the clock moves every second.
        stale = [key for key in self.cache if not self.keep(key[1], month, day)]
        for key in stale:
            del self.cache[key]
