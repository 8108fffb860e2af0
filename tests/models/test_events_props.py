"""Property tests: round trips, canonical form, and errors for arbitrary damage."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from models.event_decode import decode_event
from models.event_errors import diagnose
from models.events import (
    EVENT_ERROR_REASONS,
    MAX_AMOUNT,
    Channel,
    EventError,
    FeeType,
    Kind,
    PaymentEvent,
    encode_event,
    fingerprint,
)
from models.periods import VN_TZ

ids = st.text(min_size=1, max_size=30)
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
times = st.datetimes(
    min_value=datetime(2001, 1, 1),
    max_value=datetime(2098, 12, 31),
    timezones=st.one_of(st.none(), offsets),
)


@st.composite
def events(draw: st.DrawFn) -> PaymentEvent:
    kind = draw(st.sampled_from(Kind))
    channel = draw(st.sampled_from(Channel))
    tx = draw(ids)
    reverses = None
    if kind is not Kind.PAYMENT:
        reverses = draw(ids.filter(lambda r: r != tx))
    return PaymentEvent(
        schema_version=1,
        transaction_id=tx,
        kind=kind,
        dossier_code=draw(ids),
        procedure_code=draw(ids),
        unit_code=draw(ids),
        channel=channel,
        amount=draw(st.integers(min_value=0, max_value=MAX_AMOUNT)),
        fee_type=draw(st.sampled_from(FeeType)),
        event_time=draw(times),
        provider=draw(ids) if channel.is_online else None,
        reverses=reverses,
    )


@given(events())
def test_round_trip(event: PaymentEvent) -> None:
    raw = encode_event(event)
    again = decode_event(raw)
    assert again == event
    assert encode_event(again) == raw
    assert fingerprint(again) == fingerprint(event)
    assert again.event_time.tzinfo is VN_TZ


@given(events(), offsets)
def test_fingerprint_ignores_the_offset_used(event: PaymentEvent, tz: timezone) -> None:
    doc = json.loads(encode_event(event))
    doc["event_time"] = event.event_time.astimezone(tz).isoformat()
    other = decode_event(json.dumps(doc).encode())
    assert fingerprint(other) == fingerprint(event)


@given(events())
def test_naive_time_equals_vietnam_offset(event: PaymentEvent) -> None:
    doc = json.loads(encode_event(event))
    naive = event.event_time.replace(tzinfo=None).isoformat()
    doc["event_time"] = naive
    decoded = decode_event(json.dumps(doc).encode())
    assert decoded.event_time == event.event_time
    assert decoded.event_time.utcoffset() == timedelta(hours=7)
    assert decoded.event_time.astimezone(UTC) == event.event_time


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=120),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)
FIELDS = list(PaymentEvent.__struct_fields__)


@settings(max_examples=300)
@given(events(), st.sampled_from(FIELDS), json_values | st.just("__delete__"))
def test_any_damage_is_explained(event: PaymentEvent, field: str, value: Any) -> None:
    doc = json.loads(encode_event(event))
    if value == "__delete__":
        doc.pop(field, None)
    else:
        doc[field] = value
    raw = json.dumps(doc).encode()
    try:
        decode_event(raw)
    except EventError as error:
        assert error.reason in EVENT_ERROR_REASONS
        assert error.field is not None
        assert repr(error.field) in str(error)
        assert len(str(error)) < 400
    else:
        # Accepted: the diagnosis must not invent a problem either way; just re-check it
        # round-trips.
        assert decode_event(encode_event(decode_event(raw))) == decode_event(raw)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_raise_event_error(raw: bytes) -> None:
    try:
        decode_event(raw)
    except EventError as error:
        assert error.reason in EVENT_ERROR_REASONS


@given(events())
def test_diagnose_agrees_with_fast_path_on_cross_field_rules(event: PaymentEvent) -> None:
    doc = json.loads(encode_event(event))
    if event.channel.is_online:
        doc.pop("provider")
        expected = ("missing_field", "provider")
    else:
        doc["provider"] = "X"
        expected = ("invalid_value", "provider")
    error = diagnose(json.dumps(doc).encode())
    assert (error.reason, error.field) == expected
