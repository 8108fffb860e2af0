"""The tally stage's pure logic (streams/counters.py): counter rows, their idempotence marks,
and the three stages chained in memory equal to the offline recount."""

from __future__ import annotations

from models.registry import Registry
from streams import counters
from streams.wire import UnitDelta
from tests.events import small_cases
from tests.recount import recount
from tests.streams.stages import chained, dossier_deltas, ingest_facts, tally_rows

ONE_PAID = (1, 1, 50_000, 50_000, 0, 0, 0, 0, 1, 1)


def test_the_chained_stages_equal_the_recount(hoa_binh: Registry) -> None:
    records = small_cases()
    assert chained(records, hoa_binh) == recount([v for _, v in records], hoa_binh).counters


def test_a_replayed_delta_changes_nothing(hoa_binh: Registry) -> None:
    deltas = dossier_deltas(ingest_facts(small_cases(), hoa_binh))
    assert tally_rows(deltas * 2) == tally_rows(deltas)


def test_a_delta_applies_to_its_day_month_and_year() -> None:
    rows = tally_rows([UnitDelta("04789", 0, 1, (("2022-03-04", ONE_PAID),))])
    assert set(rows) == {("04789", "2022-03-04"), ("04789", "2022-03"), ("04789", "2022")}
    assert {row["paid_online_amount"] for row in rows.values()} == {50_000}


def test_changes_of_two_days_are_summed_per_period_and_cancelled_periods_left_out() -> None:
    minus = tuple(-d for d in ONE_PAID)
    summed = counters.by_period((("2022-03-04", ONE_PAID), ("2022-03-05", minus)))  # type: ignore[arg-type]
    # the two days stay apart; their month and year cancel out
    assert summed == {"2022-03-04": list(ONE_PAID), "2022-03-05": list(minus)}
    both = counters.by_period((("2022-03-04", ONE_PAID), ("2022-04-01", ONE_PAID)))
    assert both["2022"] == [2 * d for d in ONE_PAID]
    assert both["2022-03"] == both["2022-04"] == list(ONE_PAID)


def test_a_position_not_above_the_mark_is_not_applied_again() -> None:
    row = counters.applied(counters.empty(), 3, 10, ONE_PAID)
    assert row is not None and row.marks == {3: 10} and row.values == list(ONE_PAID)
    assert counters.applied(row, 3, 10, ONE_PAID) is None
    assert counters.applied(row, 3, 9, ONE_PAID) is None
    later = counters.applied(row, 3, 11, ONE_PAID)
    other = counters.applied(row, 4, 1, ONE_PAID)  # marks are per source partition
    assert later is not None and later.values == [2 * d for d in ONE_PAID]
    assert other is not None and other.marks == {3: 10, 4: 1}
    assert row.values == list(ONE_PAID)  # the row it was given is never changed


def test_a_row_survives_its_storage_form() -> None:
    row = counters.Row(list(ONE_PAID), {0: 7, 5: 1 << 40})
    assert counters.load(counters.dump(row)) == row
    assert counters.load(None) == counters.empty()


def test_row_keys_and_the_query_selection() -> None:
    key = counters.row_key("17.SCT", "2022-03")
    assert counters.split_key(key) == ("17.SCT", "2022-03")
    units = counters.wanted({"unit": " 148, 04789 ,"}, "unit")
    assert units == frozenset({"148", "04789"})
    assert counters.wanted({"unit": " "}, "unit") is None
    assert counters.selected("04789|2022", units, None)
    assert not counters.selected("17|2022", units, None)
    assert not counters.selected("04789|2022", units, frozenset({"2022-03"}))
