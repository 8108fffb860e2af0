"""Periods in Vietnam time across midnight, month end, year end."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.periods import VN_TZ, local_date, period_keys, period_kind, period_start, year_of


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ts", "keys"),
    [
        # 23:30 UTC on 31 December is 06:30 on 1 January in Vietnam.
        (utc(2021, 12, 31, 23, 30), ("2022-01-01", "2022-01", "2022")),
        (utc(2021, 12, 31, 16, 59, 59), ("2021-12-31", "2021-12", "2021")),
        (utc(2021, 12, 31, 17, 0, 0), ("2022-01-01", "2022-01", "2022")),
        # month end: 31 Jan 17:00 UTC is 1 Feb 00:00 in Vietnam
        (utc(2022, 1, 31, 17, 0), ("2022-02-01", "2022-02", "2022")),
        (utc(2022, 1, 31, 16, 59, 59, 999999), ("2022-01-31", "2022-01", "2022")),
        # leap day
        (utc(2024, 2, 28, 17, 0), ("2024-02-29", "2024-02", "2024")),
        (utc(2024, 2, 29, 17, 0), ("2024-03-01", "2024-03", "2024")),
        # midnight in Vietnam time
        (datetime(2022, 3, 1, 0, 0, tzinfo=VN_TZ), ("2022-03-01", "2022-03", "2022")),
        (datetime(2022, 2, 28, 23, 59, 59, tzinfo=VN_TZ), ("2022-02-28", "2022-02", "2022")),
        # another zone
        (
            datetime(2022, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=9))),
            ("2022-02-28", "2022-02", "2022"),
        ),
    ],
)
def test_period_keys(ts: datetime, keys: tuple[str, str, str]) -> None:
    assert period_keys(ts) == keys
    assert local_date(ts) == date.fromisoformat(keys[0])


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2022, 1, 1))


def test_vietnam_offset_is_plus_seven_all_year() -> None:
    for month in range(1, 13):
        assert datetime(2022, month, 1, tzinfo=VN_TZ).utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    ("key", "kind"), [("2022-03-01", "day"), ("2022-03", "month"), ("2022", "year")]
)
def test_period_kind(key: str, kind: str) -> None:
    assert period_kind(key) == kind
    assert year_of(key) == 2022


@pytest.mark.parametrize("key", ["", "22", "2022-3", "2022-13", "2022-02-30", "2022/03", "x"])
def test_period_kind_rejects(key: str) -> None:
    with pytest.raises(ValueError):
        period_kind(key)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
    )
)
def test_keys_are_nested_and_match_vietnam_wall_clock(ts: datetime) -> None:
    day, month, year = period_keys(ts)
    assert day.startswith(month) and month.startswith(year)
    local = ts + timedelta(hours=7)
    assert day == local.date().isoformat()
    assert [period_kind(k) for k in (day, month, year)] == ["day", "month", "year"]


@pytest.mark.parametrize(
    ("period", "first_day"),
    [("2022", date(2022, 1, 1)), ("2022-03", date(2022, 3, 1)), ("2024-02-29", date(2024, 2, 29))],
)
def test_period_start_is_the_first_day_of_a_year_month_or_day(period: str, first_day: date) -> None:
    assert period_start(period) == first_day
