"""Ratios (undefined when there is nothing to count), gap to target and projection."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.kpi import Counters, Kpi, gap_to_target, project, ratio


def test_empty_counters_have_undefined_ratios() -> None:
    c = Counters()
    assert c.transaction_ratio is None
    assert c.amount_ratio is None
    assert c.dossier_ratio is None
    assert c.ratio(Kpi.TRANSACTIONS) is None
    assert c.ratio(Kpi.DOSSIERS) is None


def test_fully_reversed_is_undefined_not_zero() -> None:
    c = Counters(paid=2, paid_online=1, paid_amount=300, reversed=2, reversed_online=1,
                 reversed_amount=300)  # fmt: skip
    assert c.transactions == 0
    assert c.transaction_ratio is None
    assert c.amount_ratio is None


def test_net_figures_and_ratios() -> None:
    c = Counters(
        paid=10, paid_online=4, paid_amount=1000, paid_online_amount=600,
        reversed=2, reversed_online=1, reversed_amount=100, reversed_online_amount=50,
        dossiers=5, dossiers_online=2,
    )  # fmt: skip
    assert (c.transactions, c.transactions_online) == (8, 3)
    assert (c.amount, c.amount_online) == (900, 550)
    assert c.transaction_ratio == Fraction(3, 8)
    assert c.amount_ratio == Fraction(550, 900)
    assert c.dossier_ratio == Fraction(2, 5)
    assert c.ratio(Kpi.TRANSACTIONS) == c.transaction_ratio
    assert c.ratio(Kpi.DOSSIERS) == c.dossier_ratio


def test_zero_online_is_zero_and_all_online_is_one() -> None:
    assert Counters(paid=3).transaction_ratio == 0
    assert Counters(paid=3, paid_online=3).transaction_ratio == 1
    assert Counters(paid=1, paid_amount=0).amount_ratio is None  # all fees zero


def test_ratio_function() -> None:
    assert ratio(0, 0) is None
    assert ratio(1, 3) == Fraction(1, 3)


def test_add_and_dict_round_trip() -> None:
    a = Counters(paid=1, paid_online=1, dossiers=1)
    b = Counters(paid=2, reversed=1)
    total = a + b
    assert total == Counters(paid=3, paid_online=1, reversed=1, dossiers=1)
    assert Counters.from_dict(total.to_dict()) == total
    assert Counters.from_dict({"paid": 1}) == Counters(paid=1)
    with pytest.raises(ValueError, match="bogus"):
        Counters.from_dict({"bogus": 1})


def test_gap_to_target() -> None:
    assert gap_to_target(Fraction(1, 4), Fraction(3, 10)) == Fraction(-1, 20)
    assert gap_to_target(None, Fraction(3, 10)) is None
    assert gap_to_target(Fraction(1, 2), None) is None


def test_projection_undefined_without_payments() -> None:
    assert project(Counters(), Kpi.TRANSACTIONS, Fraction(3, 10), date(2022, 6, 30)) is None


def test_projection_half_year() -> None:
    # 2022-07-02 is day 183 of 365. 100 payments so far, 20 online; target 30%.
    c = Counters(paid=100, paid_online=20)
    p = project(c, Kpi.TRANSACTIONS, Fraction(3, 10), date(2022, 7, 2))
    assert p is not None
    assert p.days_elapsed == 183 and p.days_in_year == 365
    assert p.ratio == Fraction(1, 5)
    assert p.gap == Fraction(-1, 10)
    assert not p.on_track
    assert p.projected_total == Fraction(100 * 365, 183)
    # need 0.3*100*365/183 - 20 online out of 100*182/183 remaining
    expected = (Fraction(3, 10) * 100 * 365 - 20 * 183) / (100 * 182)
    assert p.required_rest_ratio == expected
    assert Fraction(39, 100) < expected < Fraction(41, 100)
    assert p.reachable


def test_projection_unreachable_and_secured() -> None:
    late = project(Counters(paid=100), Kpi.TRANSACTIONS, Fraction(9, 10), date(2022, 12, 1))
    assert late is not None and late.required_rest_ratio is not None
    assert late.required_rest_ratio > 1 and not late.reachable
    done = project(Counters(paid=100, paid_online=90), Kpi.TRANSACTIONS, Fraction(3, 10),
                   date(2022, 12, 1))  # fmt: skip
    assert done is not None and done.required_rest_ratio is not None
    assert done.required_rest_ratio <= 0 and done.on_track and done.reachable


def test_projection_last_day_and_leap_year() -> None:
    p = project(Counters(paid=10, paid_online=3), Kpi.TRANSACTIONS, Fraction(3, 10),
                date(2024, 12, 31))  # fmt: skip
    assert p is not None
    assert p.days_in_year == 366 and p.days_elapsed == 366
    assert p.required_rest_ratio is None
    assert p.on_track and p.reachable


def test_projection_uses_dossiers_for_766() -> None:
    c = Counters(paid=100, paid_online=0, dossiers=10, dossiers_online=5)
    p = project(c, Kpi.DOSSIERS, Fraction(3, 10), date(2022, 3, 1))
    assert p is not None and p.ratio == Fraction(1, 2) and p.on_track


@given(
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=100),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 30)),
)
def test_projection_meeting_the_required_share_hits_the_target(
    total: int, online_raw: int, percent: int, on: date
) -> None:
    online = min(online_raw, total)
    target = Fraction(percent, 100)
    p = project(Counters(paid=total, paid_online=online), Kpi.TRANSACTIONS, target, on)
    assert p is not None
    if p.required_rest_ratio is None:
        return
    rest = p.projected_total - total
    year_end = (online + p.required_rest_ratio * rest) / p.projected_total
    assert year_end == target
    assert p.reachable == (p.required_rest_ratio <= 1)
    assert p.on_track == (p.required_rest_ratio <= p.ratio)
