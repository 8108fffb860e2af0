"""Decoding and validation of payment events: every bad input names its field and value."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta, timezone
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

_ABSENT = object()


def reject(raw: bytes) -> EventError:
    with pytest.raises(EventError) as info:
        decode_event(raw)
    error = info.value
    assert error.reason in EVENT_ERROR_REASONS
    return error


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


def test_channels_online_flag() -> None:
    assert {c for c in Channel if c.is_online} == {
        Channel.ONLINE_PORTAL,
        Channel.ONLINE_GATEWAY,
    }


def test_naive_time_means_vietnam_time() -> None:
    event = decode_event(event_bytes(event_time="2022-12-31T23:30:00"))
    assert event.event_time == datetime(2022, 12, 31, 16, 30, tzinfo=UTC)
    assert event.event_time.tzinfo is VN_TZ


def test_utc_time_is_converted_to_vietnam_time() -> None:
    event = decode_event(event_bytes(event_time="2021-12-31T23:30:00Z"))
    assert event.event_time.tzinfo is VN_TZ
    assert (event.event_time.year, event.event_time.month, event.event_time.day) == (2022, 1, 1)
    assert event.event_time.hour == 6


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


# (changes to a valid event, expected reason, expected field, text the message must contain)
BAD: list[tuple[str, dict[str, Any], str, str, list[str]]] = [
    ("negative amount", {"amount": -5}, "invalid_value", "amount", ["-5", ">= 0"]),
    ("amount too big", {"amount": 10**16}, "invalid_value", "amount", ["10000000000000000"]),
    ("amount as string", {"amount": "5000"}, "wrong_type", "amount", ['"5000"', "integer"]),
    ("amount as float", {"amount": 5000.5}, "wrong_type", "amount", ["5000.5", "number"]),
    ("amount as bool", {"amount": True}, "wrong_type", "amount", ["true", "boolean"]),
    ("amount null", {"amount": None}, "wrong_type", "amount", ["null"]),
    ("unknown channel", {"channel": "bitcoin"}, "invalid_value", "channel", ['"bitcoin"']),
    ("unknown kind", {"kind": "chargeback"}, "invalid_value", "kind", ['"chargeback"']),
    ("unknown fee type", {"fee_type": "thue"}, "invalid_value", "fee_type", ['"thue"']),
    ("channel as int", {"channel": 1}, "wrong_type", "channel", ["1", "string"]),
    (
        "time without date",
        {"event_time": "09:30:00"},
        "invalid_value",
        "event_time",
        ['"09:30:00"', "date"],
    ),
    (
        "date without time",
        {"event_time": "2022-03-01"},
        "invalid_value",
        "event_time",
        ['"2022-03-01"', "date and a time"],
    ),
    (
        "time not a date",
        {"event_time": "yesterday"},
        "invalid_value",
        "event_time",
        ['"yesterday"'],
    ),
    (
        "month 13",
        {"event_time": "2022-13-01T00:00:00"},
        "invalid_value",
        "event_time",
        ['"2022-13-01T00:00:00"'],
    ),
    (
        "time as epoch",
        {"event_time": 1646101800},
        "wrong_type",
        "event_time",
        ["1646101800", "string"],
    ),
    (
        "year out of range",
        {"event_time": "1999-12-31T00:00:00Z"},
        "invalid_value",
        "event_time",
        ["1999-12-31", "2000..2099"],
    ),
    ("version 2", {"schema_version": 2}, "unsupported_version", "schema_version", ["2"]),
    ("version 0", {"schema_version": 0}, "unsupported_version", "schema_version", ["0"]),
    ("version string", {"schema_version": "1"}, "wrong_type", "schema_version", ['"1"']),
    ("empty transaction id", {"transaction_id": ""}, "invalid_value", "transaction_id", ['""']),
    ("empty dossier code", {"dossier_code": ""}, "invalid_value", "dossier_code", ['""']),
    ("empty procedure code", {"procedure_code": ""}, "invalid_value", "procedure_code", ['""']),
    ("empty unit code", {"unit_code": ""}, "invalid_value", "unit_code", ['""']),
    ("unit code as int", {"unit_code": 4789}, "wrong_type", "unit_code", ["4789"]),
    ("empty provider", {"provider": ""}, "invalid_value", "provider", ['""']),
    (
        "provider missing online",
        {"provider": _ABSENT},
        "missing_field",
        "provider",
        ["online_portal", "absent"],
    ),
    (
        "provider null online",
        {"provider": None, "channel": "online_gateway"},
        "missing_field",
        "provider",
        ["online_gateway", "absent"],
    ),
    (
        "provider offline",
        {"channel": "offline_transfer"},
        "invalid_value",
        "provider",
        ['"VNPay"', "offline_transfer"],
    ),
    (
        "reverses missing refund",
        {"kind": "refund"},
        "missing_field",
        "reverses",
        ["refund", "absent"],
    ),
    (
        "reverses missing cancellation",
        {"kind": "cancellation", "reverses": None},
        "missing_field",
        "reverses",
        ["cancellation", "absent"],
    ),
    (
        "reverses on payment",
        {"reverses": "TX-0"},
        "invalid_value",
        "reverses",
        ['"TX-0"', "payment"],
    ),
    (
        "reverses itself",
        {"kind": "refund", "reverses": "TX-2022-000001"},
        "invalid_value",
        "reverses",
        ['"TX-2022-000001"', "itself"],
    ),
]


@pytest.mark.parametrize(
    ("changes", "reason", "field", "needles"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_bad_field_is_named_with_its_value(
    changes: dict[str, Any], reason: str, field: str, needles: list[str]
) -> None:
    doc = event_dict()
    for key, value in changes.items():
        if value is _ABSENT:
            doc.pop(key)
        else:
            doc[key] = value
    error = reject(json.dumps(doc).encode())
    assert (error.reason, error.field) == (reason, field), str(error)
    message = str(error)
    assert repr(field) in message or f'"{field}"' in message
    for needle in needles:
        assert needle in message, message


def test_the_required_fields_are_all_but_provider_and_reverses() -> None:
    assert len(REQUIRED_FIELDS) == 10
    assert (*REQUIRED_FIELDS, "provider", "reverses") == FIELDS


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_missing_required_field(field: str) -> None:
    doc = event_dict()
    del doc[field]
    error = reject(json.dumps(doc).encode())
    assert (error.reason, error.field, error.value) == ("missing_field", field, None)
    assert repr(field) in str(error)
    assert "absent" in str(error)


def test_unknown_field_is_named_but_its_value_withheld() -> None:
    error = reject(event_bytes(citizen_name="Nguyễn Văn A", citizen_id="001234567890"))
    assert error.reason == "unknown_field"
    assert error.field == "citizen_name"
    assert "citizen_name" in str(error)
    assert "Nguyễn" not in str(error)
    assert "001234567890" not in str(error)
    assert error.value is None


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b'{"schema_version": 1, "amount": ', "truncated"),
        (b"not json at all", "malformed"),
        (b"\xff\xfe\x00", "malformed"),
        (b"", "truncated"),
        (b'{"a": 1} trailing', "trailing"),
        (b'{"transaction_id": "\xff\xfe\xfa"}', "not utf-8"),
    ],
)
def test_malformed_json(raw: bytes, needle: str) -> None:
    error = reject(raw)
    assert error.reason == "malformed_json"
    assert error.field is None
    assert needle in str(error).lower()
    assert f"{len(raw)} bytes" in str(error)


@pytest.mark.parametrize(
    ("raw", "kind"), [(b"[1, 2]", "array"), (b'"x"', "string"), (b"3", "integer")]
)
def test_not_an_object(raw: bytes, kind: str) -> None:
    error = reject(raw)
    assert error.reason == "wrong_type"
    assert error.field is None
    assert f"expected a JSON object, got {kind}" in str(error)


def test_long_values_are_truncated_and_payload_never_echoed() -> None:
    long_value = "X" * 5000
    raw = event_bytes(dossier_code=long_value, procedure_code="P" * 50)
    error = reject(raw)
    assert error.field == "dossier_code"
    message = str(error)
    assert "X" * 70 in message
    assert "X" * 81 not in message
    assert len(message) < 300
    assert "PPPP" not in message  # other fields are not echoed


def test_long_unknown_field_name_is_cut() -> None:
    error = reject(event_bytes(**{"k" * 200: 1}))
    assert error.reason == "unknown_field"
    assert error.field is not None
    assert len(error.field) <= 40


def test_version_is_checked_before_other_fields() -> None:
    doc = {"schema_version": 2, "whatever": True}
    error = reject(json.dumps(doc).encode())
    assert error.reason == "unsupported_version"


def test_event_error_pickles() -> None:
    error = reject(event_bytes(amount=-1))
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, copy.field, copy.value, str(copy)) == (
        error.reason,
        error.field,
        error.value,
        str(error),
    )


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
