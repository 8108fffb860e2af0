"""The tally stage's pure logic (streams/counters.py): counter rows, their idempotence marks,
and the three stages chained in memory equal to the offline recount."""

from __future__ import annotations

import re

import pytest

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


def test_changes_of_two_days_are_summed_per_period_and_cancelled_periods_kept_as_zeros() -> None:
    minus = tuple(-d for d in ONE_PAID)
    summed = counters.by_period((("2022-03-04", ONE_PAID), ("2022-03-05", minus)))  # type: ignore[arg-type]
    # the two days stay apart; their month and year cancel out and stay, to be marked
    assert {period: list(deltas) for period, deltas in summed.items()} == {
        "2022-03-04": list(ONE_PAID),
        "2022-03-05": list(minus),
        "2022-03": [0] * 10,
        "2022": [0] * 10,
    }
    both = counters.by_period((("2022-03-04", ONE_PAID), ("2022-04-01", ONE_PAID)))
    assert both["2022"] == [2 * d for d in ONE_PAID]
    assert list(both["2022-03"]) == list(both["2022-04"]) == list(ONE_PAID)


def delta(partition: int, at: int, *days: str) -> UnitDelta:
    return UnitDelta("04789", partition, at, tuple((day, ONE_PAID) for day in days))


def test_a_position_not_above_the_mark_is_not_applied_again() -> None:
    own: dict[str, counters.Row] = {}
    counters.tally(delta(3, 10, "2022-03-04"), lambda _: counters.empty(), own)
    row = own["04789|2022-03-04"]
    assert row.marks == {3: 10} and row.values == list(ONE_PAID)
    for again in (delta(3, 10, "2022-03-04"), delta(3, 9, "2022-03-04")):
        staged = counters.tally(again, lambda _: counters.empty(), own)
        assert [fresh for _, _, fresh in staged] == [False, False, False]
    counters.tally(delta(3, 11, "2022-03-04"), lambda _: counters.empty(), own)
    counters.tally(delta(4, 1, "2022-03-04"), lambda _: counters.empty(), own)  # per partition
    assert row.values == [3 * d for d in ONE_PAID] and row.marks == {3: 11, 4: 1}


def test_a_step_copies_a_row_once_and_adds_in_place() -> None:
    stored = {"04789|2022-03-04": counters.Row(list(ONE_PAID), {3: 5})}
    read: list[str] = []

    def row_of(key: str) -> counters.Row:
        read.append(key)
        return counters.copied(stored.get(key, counters.empty()))

    own: dict[str, counters.Row] = {}
    for at in (6, 7, 8):
        counters.tally(delta(3, at, "2022-03-04"), row_of, own)
    assert sorted(read) == ["04789|2022", "04789|2022-03", "04789|2022-03-04"]  # once each
    assert own["04789|2022-03-04"].values == [4 * d for d in ONE_PAID]
    assert own["04789|2022"].values == [3 * d for d in ONE_PAID]
    assert own["04789|2022"].marks == own["04789|2022-03-04"].marks == {3: 8}
    assert stored["04789|2022-03-04"] == counters.Row(list(ONE_PAID), {3: 5})  # not changed


def test_a_delta_that_fails_on_one_row_changes_none() -> None:
    own: dict[str, counters.Row] = {}
    counters.tally(delta(3, 1, "2022-03-04"), lambda _: counters.empty(), own)
    before = {key: counters.copied(row) for key, row in own.items()}
    broken = counters.Row([0] * 9, {})  # a row of the wrong length, for the 5th only

    def row_of(key: str) -> counters.Row:
        return broken if key == "04789|2022-03-05" else counters.empty()

    with pytest.raises(ValueError, match=re.escape("04789|2022-03-05")):
        counters.tally(delta(3, 2, "2022-03-04", "2022-03-05"), row_of, own)
    assert own == before


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
