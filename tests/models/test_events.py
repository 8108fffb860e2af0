"""The payment event (models/events.py): its channels, canonical encoding and fingerprint, the
rules a constructed event follows, and the error reasons (decoding: test_event_decode.py, the
messages of a refused event: test_event_errors.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from models.event_decode import decode_event
from models.events import (
    EVENT_ERROR_REASONS,
    FIELDS,
    REQUIRED_FIELDS,
    Channel,
    EventError,
    FeeType,
    Kind,
    PaymentEvent,
    encode_event,
    fingerprint,
)
from models.periods import VN_TZ
from tests.events import event_bytes, event_dict


def test_channels_online_flag() -> None:
    assert {c for c in Channel if c.is_online} == {
        Channel.ONLINE_PORTAL,
        Channel.ONLINE_GATEWAY,
    }


def test_same_instant_same_fingerprint() -> None:
    a = decode_event(event_bytes(event_time="2022-03-01T02:30:00Z"))
    b = decode_event(event_bytes(event_time="2022-03-01T09:30:00+07:00"))
    c = decode_event(event_bytes(event_time="2022-03-01T09:30:00"))
    assert a == b == c
    assert encode_event(a) == encode_event(b) == encode_event(c)
    assert fingerprint(a) == fingerprint(b) == fingerprint(c)


def test_key_order_and_null_optionals_do_not_change_fingerprint() -> None:
    doc = event_dict(channel="offline_counter")
    del doc["provider"]
    shuffled = dict(reversed(list(doc.items())))
    with_nulls = {**doc, "provider": None, "reverses": None}
    events = [decode_event(json.dumps(d).encode()) for d in (doc, shuffled, with_nulls)]
    assert len({fingerprint(e) for e in events}) == 1


def test_different_events_different_fingerprints() -> None:
    a = decode_event(event_bytes())
    b = decode_event(event_bytes(amount=50_001))
    assert fingerprint(a) != fingerprint(b)


def test_encode_is_canonical() -> None:
    raw = encode_event(decode_event(event_bytes()))
    assert raw == (
        b'{"amount":50000,"channel":"online_portal","dossier_code":"000.00.17.H29-220301-0001",'
        b'"event_time":"2022-03-01T09:30:00+07:00","fee_type":"le_phi","kind":"payment",'
        b'"procedure_code":"1.004227","provider":"VNPay","schema_version":1,'
        b'"transaction_id":"TX-2022-000001","unit_code":"04789"}'
    )
    keys = list(json.loads(raw))
    assert keys == sorted(keys)
    assert b"reverses" not in raw  # absent optionals are omitted


def test_fingerprint_is_sha256_hex() -> None:
    digest = fingerprint(decode_event(event_bytes()))
    assert len(digest) == 64
    int(digest, 16)


def test_the_required_fields_are_all_but_provider_and_reverses() -> None:
    assert len(REQUIRED_FIELDS) == 10
    assert (*REQUIRED_FIELDS, "provider", "reverses") == FIELDS


def test_event_error_rejects_unknown_reason() -> None:
    with pytest.raises(AssertionError):
        EventError("nope", None, None, "x")


def _event(**changes: Any) -> PaymentEvent:
    base: dict[str, Any] = {
        "schema_version": 1,
        "transaction_id": "T1",
        "kind": Kind.PAYMENT,
        "dossier_code": "D1",
        "procedure_code": "P1",
        "unit_code": "04789",
        "channel": Channel.OFFLINE_CASH,
        "amount": 1000,
        "fee_type": FeeType.PHI,
        "event_time": datetime(2022, 3, 1, 9, 30),
    }
    base.update(changes)
    return PaymentEvent(**base)


def test_constructed_event_follows_zone_and_cross_field_rules() -> None:
    event = _event()
    assert event.event_time.tzinfo is VN_TZ
    assert event.event_time.hour == 9
    shifted = _event(event_time=datetime(2022, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=9))))
    assert shifted.event_time.hour == 7
    with pytest.raises(EventError, match="provider"):
        _event(channel=Channel.ONLINE_PORTAL)
    with pytest.raises(EventError, match="reverses"):
        _event(kind=Kind.REFUND)
    assert decode_event(encode_event(event)) == event


def test_reasons_are_label_safe() -> None:
    for reason in EVENT_ERROR_REASONS:
        assert reason.isascii()
        assert reason.replace("_", "").isalpha()
        assert reason.islower()
