"""The rows /metrics renders (streams/current_rows.py), with a pinned event clock: no broker."""

from __future__ import annotations

from datetime import date

from models.event_clock import EventClock
from models.kpi import Counters
from streams.current_rows import CurrentRows

ONE = Counters(paid=1)
ONE_VALUES = list(ONE.to_dict().values())  # what the tally gives its listeners


def _rows(current: CurrentRows) -> set[tuple[str, str]]:
    return {(unit, period) for unit, period, _ in current.owned_rows()}


def test_years_and_the_current_month_and_day_and_later_ones_are_kept() -> None:
    current = CurrentRows(EventClock(pinned=date(2022, 3, 15)))
    periods = ["2021", "2022", "2022-02", "2022-03", "2022-04", "2022-03-14", "2022-03-15"]
    current.remember([("148", period, ONE_VALUES) for period in periods])
    assert _rows(current) == {
        ("148", p) for p in ("2021", "2022", "2022-03", "2022-04", "2022-03-15")
    }
    assert all(counters == ONE for _, _, counters in current.owned_rows())


def test_every_row_is_kept_until_the_clock_has_seen_an_event() -> None:
    current = CurrentRows(EventClock())
    assert current.window_now() == ("", "")
    current.remember([("148", "2019-01-02", ONE_VALUES), ("148", "2019-01", ONE_VALUES)])
    assert _rows(current) == {("148", "2019-01-02"), ("148", "2019-01")}


def test_rows_the_clock_has_passed_are_pruned_and_revoked_units_forgotten() -> None:
    clock = EventClock()
    current = CurrentRows(clock)
    one = tuple(ONE_VALUES)
    current.cache = {("148", "2019-01-02"): one, ("148", "2019"): one, ("4789", "2019"): one}
    clock.pinned = date(2019, 1, 3)
    current.prune()
    assert set(current.cache) == {("148", "2019"), ("4789", "2019")}
    current.forget({"148"})
    assert set(current.cache) == {("4789", "2019")}


def test_the_gauges_go_by_noon_of_a_pinned_day_other_than_today() -> None:
    current = CurrentRows(EventClock(pinned=date(2022, 3, 15)))
    assert current.now().isoformat() == "2022-03-15T12:00:00+07:00"
