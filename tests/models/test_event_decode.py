"""Decoding a payment event (models/event_decode.py): valid events decode, their times in
Vietnam time whatever zone they were sent in; no value and too large are refused first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.event_decode import decode_event
from models.events import MAX_EVENT_BYTES, Channel, EventError, FeeType, Kind
from models.periods import VN_TZ
from tests.events import event_bytes


def test_valid_event_decodes() -> None:
    event = decode_event(event_bytes())
    assert event.kind is Kind.PAYMENT
    assert event.channel is Channel.ONLINE_PORTAL
    assert event.channel.is_online
    assert event.fee_type is FeeType.LE_PHI
    assert event.amount == 50_000
    assert event.event_time == datetime(2022, 3, 1, 9, 30, tzinfo=VN_TZ)
    assert event.event_time.tzinfo is VN_TZ


def test_offline_refund_decodes() -> None:
    raw = event_bytes(
        kind="refund", channel="offline_cash", provider=None, reverses="TX-0", amount=0
    )
    event = decode_event(raw)
    assert event.provider is None
    assert event.reverses == "TX-0"
    assert not event.channel.is_online


def test_naive_time_means_vietnam_time() -> None:
    event = decode_event(event_bytes(event_time="2022-12-31T23:30:00"))
    assert event.event_time == datetime(2022, 12, 31, 16, 30, tzinfo=UTC)
    assert event.event_time.tzinfo is VN_TZ


def test_utc_time_is_converted_to_vietnam_time() -> None:
    event = decode_event(event_bytes(event_time="2021-12-31T23:30:00Z"))
    assert event.event_time.tzinfo is VN_TZ
    assert (event.event_time.year, event.event_time.month, event.event_time.day) == (2022, 1, 1)
    assert event.event_time.hour == 6


def test_a_record_without_a_value_is_unreadable() -> None:
    with pytest.raises(EventError) as info:
        decode_event(None)
    assert (info.value.reason, info.value.field) == ("unreadable", None)
    assert "no value" in str(info.value)


def test_an_event_over_the_size_limit_is_refused_before_it_is_parsed() -> None:
    at_limit = event_bytes().ljust(MAX_EVENT_BYTES)  # JSON allows the trailing blanks
    assert decode_event(at_limit) == decode_event(event_bytes())
    with pytest.raises(EventError) as info:
        decode_event(at_limit + b" ")  # one byte more
    assert info.value.reason == "too_large"
    assert f"{MAX_EVENT_BYTES + 1} bytes" in str(info.value)
