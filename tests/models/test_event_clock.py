"""The current day (models/event_clock.py): it follows the bulk of recent event times, never one
outlier; an operator can pin it; future-dated events are flagged and left out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from models.event_clock import EventClock, bulk_day, current_day, current_year, day_of_epoch
from models.periods import VN_TZ

TODAY = date(2026, 11, 29)
NOW_S = datetime(2026, 11, 29, 3, tzinfo=UTC).timestamp()  # 10:00 in Vietnam


def noon(day: date) -> float:
    return datetime(day.year, day.month, day.day, 12, tzinfo=VN_TZ).timestamp()


def backfill(first: date, days: int, per_day: int) -> list[date]:
    """Event days of a backfill in time order."""
    return [first + timedelta(days=d) for d in range(days) for _ in range(per_day)]


def counts(days: list[date]) -> dict[date, int]:
    out: dict[date, int] = {}
    for day in days:
        out[day] = out.get(day, 0) + 1
    return out


def test_one_event_a_year_ahead_does_not_move_the_bulk() -> None:
    days = backfill(date(2022, 10, 1), 92, 50)  # Oct to Dec 2022, 50 a day
    assert bulk_day(counts(days)) == date(2022, 12, 31)
    assert bulk_day(counts([*days, date(2023, 6, 1)])) == date(2022, 12, 31)
    assert bulk_day(counts([*days, *[date(2023, 6, 1)] * 9])) == date(2022, 12, 31)


def test_the_bulk_moves_once_a_share_of_recent_events_is_newer() -> None:
    days = backfill(date(2022, 10, 1), 92, 50)
    # 1% of the newest 10,000 events (here all 4,646 or 4,647: 47) on the day or later.
    assert bulk_day(counts([*days, *[date(2023, 1, 1)] * 46])) == date(2022, 12, 31)
    assert bulk_day(counts([*days, *[date(2023, 1, 1)] * 47])) == date(2023, 1, 1)


def test_the_bulk_of_few_events() -> None:
    assert bulk_day({}) is None
    assert bulk_day({date(2022, 3, 1): 0}) is None
    assert bulk_day({date(2022, 3, 1): 3}) == date(2022, 3, 1)
    # Fewer events than the minimum support: the oldest, never the outlier.
    assert bulk_day({date(2022, 3, 1): 4, date(2023, 3, 1): 1}) == date(2022, 3, 1)


def test_only_the_newest_window_of_events_counts() -> None:
    old = {date(2021, 1, 1) + timedelta(days=d): 1_000 for d in range(30)}
    new = {date(2022, 3, 1): 9_950, date(2022, 3, 2): 98, date(2030, 1, 1): 1}
    # Window 10,000 (the 2021 days are older than it): 2 March and later hold 99, under 1%.
    assert bulk_day(old | new) == date(2022, 3, 1)
    assert bulk_day(old | new | {date(2022, 3, 2): 99}) == date(2022, 3, 2)


def test_current_day_rules() -> None:
    pinned = date(2022, 12, 31)
    assert current_day(date(2026, 11, 29), TODAY, pinned) == pinned
    assert current_day(None, TODAY, pinned) == pinned
    assert current_day(None, TODAY) == TODAY  # nothing counted yet: the wall clock
    assert current_day(date(2026, 11, 28), TODAY) == TODAY  # live: yesterday's bulk
    assert current_day(date(2026, 11, 29), TODAY) == TODAY
    assert current_day(date(2026, 11, 27), TODAY) == date(2026, 11, 27)  # a backfill
    assert current_day(date(2022, 12, 31), TODAY) == date(2022, 12, 31)


def test_a_worker_clock_in_a_backfill_with_an_outlier_and_a_future_event() -> None:
    clock = EventClock(future_tolerance_s=600)
    assert not clock.known and clock.day(TODAY) == TODAY  # nothing counted yet
    days = backfill(date(2022, 10, 1), 92, 50)
    for n, day in enumerate(days):
        assert clock.saw(noon(day), NOW_S)
        if n == 2_000:
            assert clock.saw(noon(date(2023, 6, 1)), NOW_S)  # an outlier, not future-dated
            assert not clock.saw(NOW_S + 3_600, NOW_S)  # an hour ahead of the wall clock
            assert clock.saw(NOW_S + 599, NOW_S)  # within the tolerance
            assert clock.day(TODAY) < date(2022, 12, 31)
    assert clock.future_events == 1 and clock.known
    assert clock.day(TODAY) == date(2022, 12, 31)


def test_the_worker_clock_never_goes_back() -> None:
    clock = EventClock()
    for day in backfill(date(2022, 12, 1), 31, 20):
        clock.saw(noon(day), NOW_S)
    assert clock.day(TODAY) == date(2022, 12, 31)
    for day in backfill(date(2021, 1, 1), 31, 400):  # an older replay fills the window
        clock.saw(noon(day), NOW_S)
    assert clock.bulk() == date(2021, 1, 31)
    assert clock.day(TODAY) == date(2022, 12, 31)


def test_a_live_worker_clock_is_today() -> None:
    clock = EventClock()
    for _ in range(300):
        clock.saw(NOW_S - 5, NOW_S)
    assert clock.day(TODAY) == TODAY
    yesterday_late = datetime(2026, 11, 28, 23, 50, tzinfo=VN_TZ).timestamp()
    live = EventClock()
    for _ in range(300):
        live.saw(yesterday_late, NOW_S)
    assert live.day(TODAY) == TODAY  # a quiet night: still today


def test_a_pinned_clock_ignores_the_events() -> None:
    clock = EventClock(pinned=date(2022, 6, 30))
    assert clock.known
    for day in backfill(date(2023, 1, 1), 10, 100):
        clock.saw(noon(day), NOW_S)
    assert clock.day(TODAY) == date(2022, 6, 30)


def test_seeded_from_rows_read_back() -> None:
    clock = EventClock()
    clock.seed(counts([*backfill(date(2022, 10, 1), 92, 50), date(2023, 6, 1)]))
    assert clock.day(TODAY) == date(2022, 12, 31)
    small = EventClock(window=100)
    small.seed({date(2022, 1, 1): 1_000, date(2022, 1, 2): 50, date(2022, 1, 3): 5})
    assert small.bulk() == date(2022, 1, 2)  # the newest 100 events: 50 + 5 + 45


def test_rows_read_back_while_counting_are_older_than_the_events_seen() -> None:
    seen = EventClock(window=100)
    for _ in range(60):
        seen.saw(noon(date(2022, 3, 2)), NOW_S)
    # Read back after those 60 were counted: they fill only the 40 free places, as older events.
    seen.seed({date(2022, 1, 1): 1_000, date(2022, 1, 2): 30})
    assert seen.bulk() == date(2022, 3, 2)  # 60 of the 100 are still the counted ones
    for _ in range(50):
        seen.saw(noon(date(2022, 3, 3)), NOW_S)  # newer events push the read-back ones out first
    assert seen.bulk() == date(2022, 3, 3)
    full = EventClock(window=10)
    for _ in range(10):
        full.saw(noon(date(2022, 3, 2)), NOW_S)
    full.seed({date(2022, 1, 1): 5})
    assert full.bulk() == date(2022, 3, 2)


@given(st.floats(min_value=946_684_800, max_value=4_102_444_800, allow_nan=False))  # 2000..2099
def test_day_of_epoch_is_the_vietnam_date(epoch_s: float) -> None:
    expected = datetime.fromtimestamp(epoch_s, VN_TZ).date()
    assert date.fromordinal(day_of_epoch(epoch_s)) == expected


def test_the_year_a_reader_shows_follows_the_bulk_not_an_outlier() -> None:
    days = counts([*backfill(date(2022, 12, 1), 20, 30), date(2023, 6, 1)])
    years = ["2022", "2023"]
    assert current_year(days, years, TODAY) == "2022"
    assert current_year(days, years, TODAY, pinned=date(2023, 1, 5)) == "2023"
    live = counts(backfill(TODAY - timedelta(days=3), 4, 30))
    assert current_year(live, ["2026"], TODAY) == "2026"
    assert current_year({}, ["2021", "2022"], TODAY) == "2022"  # no day rows: the newest year
    assert current_year({}, [], TODAY) is None
