"""The event_time rule (models/event_time.py): RFC 3339 as written, leap seconds where they can
be, the year checked in Vietnam time; the fast path, the slow path and the schema agree."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.event_decode import decode_event
from models.event_errors import diagnose
from models.event_time import parse_event_time
from models.events import EventError
from models.periods import VN_TZ, period_keys
from models.schema import json_schema
from tests.events import event_bytes

PATTERN = re.compile(json_schema()["properties"]["event_time"]["pattern"])


def decoded_time(text: str) -> datetime:
    event = decode_event(event_bytes(event_time=text))
    assert type(event.event_time) is datetime and event.event_time.tzinfo is VN_TZ
    return event.event_time


def refused(text: str) -> EventError:
    raw = event_bytes(event_time=text)
    with pytest.raises(EventError) as info:
        decode_event(raw)
    error = info.value
    assert (error.reason, error.field) == ("invalid_value", "event_time")
    assert json.dumps(text) in str(error)  # the value as sent is shown
    assert str(diagnose(raw)) == str(error)
    return error


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        # RFC 3339's own examples of the leap second of 31 Dec 1990, in 2016 (years 2000..2099).
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999_999, UTC)),
        ("2016-12-31T15:59:60-08:00", datetime(2016, 12, 31, 23, 59, 59, 999_999, UTC)),
        ("2017-01-01T06:59:60+07:00", datetime(2016, 12, 31, 23, 59, 59, 999_999, UTC)),
        ("2017-01-01T06:59:60", datetime(2016, 12, 31, 23, 59, 59, 999_999, UTC)),  # Vietnam
        ("2015-06-30T23:59:60.5Z", datetime(2015, 6, 30, 23, 59, 59, 999_999, UTC)),
    ],
)
def test_a_leap_second_is_valid_and_stays_on_its_day(text: str, utc: datetime) -> None:
    got = decoded_time(text)
    assert got == utc
    assert period_keys(got)[0] == utc.astimezone(VN_TZ).date().isoformat()
    assert PATTERN.fullmatch(text)


@pytest.mark.parametrize(
    "text",
    ["2022-03-01T09:30:60+07:00", "2016-12-30T23:59:60Z", "2016-12-31T22:59:60Z"],
)
def test_a_leap_second_anywhere_else_is_refused(text: str) -> None:
    assert "leap second" in str(refused(text))


@pytest.mark.parametrize(
    "text",
    [
        "2022-03-01T09:30:00+0700",  # the offset needs its colon
        "2022-03-01T09:30:00+07",
        "2022-03-01T09:30+07:00",  # seconds are required
        "2022-03-01T09:30:00,5+07:00",
        "20220301T093000Z",
        "2022-03-01T09:30:00.+07:00",
    ],
)
def test_what_rfc_3339_does_not_allow_is_refused(text: str) -> None:
    assert "not an RFC 3339 date and time" in str(refused(text))
    assert not PATTERN.fullmatch(text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2022-03-01T24:00:00+07:00", "hour must be in 0..23"),
        ("2022-02-29T09:30:00+07:00", "day is out of range for month"),
        ("2022-03-01T09:30:00+24:00", "at most ±23:59"),
    ],
)
def test_values_out_of_range_are_refused(text: str, says: str) -> None:
    assert says in str(refused(text))
    assert PATTERN.fullmatch(text)  # what a pattern cannot check, the description says


def test_plus_0700_names_the_form_expected() -> None:
    assert "e.g. 2022-03-01T09:30:00+07:00" in str(refused("2022-03-01T09:30:00+0700"))


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("2022-03-01T09:30:00+07:00", datetime(2022, 3, 1, 9, 30, tzinfo=VN_TZ)),
        ("2022-03-01t02:30:00z", datetime(2022, 3, 1, 9, 30, tzinfo=VN_TZ)),
        ("2022-03-01 09:30:00", datetime(2022, 3, 1, 9, 30, tzinfo=VN_TZ)),  # both extensions
        ("2022-03-01T09:30:00-00:00", datetime(2022, 3, 1, 16, 30, tzinfo=VN_TZ)),
        ("2022-03-01T09:30:00+23:59", datetime(2022, 2, 28, 16, 31, tzinfo=VN_TZ)),
    ],
)
def test_valid_forms(text: str, local: datetime) -> None:
    assert decoded_time(text) == local
    assert PATTERN.fullmatch(text)


@pytest.mark.parametrize(
    "text",
    [
        "2099-12-31T23:59:59-12:00",  # 2100-01-01 in Vietnam
        "2099-12-31T17:00:00Z",  # 2100-01-01T00:00:00+07:00
        "1999-12-31T16:59:59Z",  # 1999-12-31T23:59:59+07:00
    ],
)
def test_the_year_is_checked_in_vietnam_time(text: str) -> None:
    assert "2000..2099 in Vietnam time" in str(refused(text))


def test_a_time_before_2000_elsewhere_that_is_2000_in_vietnam_is_valid() -> None:
    assert decoded_time("1999-12-31T20:00:00-05:00") == datetime(2000, 1, 1, 8, tzinfo=VN_TZ)
    assert decoded_time("2099-12-31T16:59:59Z") == datetime(2099, 12, 31, 23, 59, 59, tzinfo=VN_TZ)


def test_an_event_built_in_code_follows_the_same_year_rule() -> None:
    event = decode_event(event_bytes())
    with pytest.raises(EventError, match=r"2000\.\.2099 in Vietnam time"):
        msgspec.structs.replace(event, event_time=datetime(2099, 12, 31, 17, tzinfo=UTC))
    built = msgspec.structs.replace(event, event_time=datetime(1999, 12, 31, 17, tzinfo=UTC))
    assert built.event_time == datetime(2000, 1, 1, tzinfo=VN_TZ)
    assert type(built.event_time) is datetime


offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59)
instants = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31))


@given(instants, offsets, st.text(alphabet="0123456789", max_size=12))
def test_times_msgspec_reads_too_are_read_the_same(
    when: datetime, offset_minutes: int, digits: str
) -> None:
    """Where RFC 3339 and msgspec's own parser agree, so does paywatch's (rounding included)."""
    zone = timezone(timedelta(minutes=offset_minutes))
    text = when.replace(microsecond=0, tzinfo=zone).isoformat()
    if digits:
        text = text[:19] + "." + digits + text[19:]
    native = msgspec.json.decode(json.dumps(text).encode(), type=datetime)
    assert parse_event_time(text) == native
    assert PATTERN.fullmatch(text)
