"""Why an event was refused (models/event_errors.py): every bad input names its field and value,
with the reason a metric counts it under, and never echoes the payload."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from models.event_decode import decode_event
from models.events import EVENT_ERROR_REASONS, REQUIRED_FIELDS, EventError
from tests.events import event_bytes, event_dict

_ABSENT = object()


def reject(raw: bytes) -> EventError:
    with pytest.raises(EventError) as info:
        decode_event(raw)
    error = info.value
    assert error.reason in EVENT_ERROR_REASONS
    return error


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
