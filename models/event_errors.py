"""Slow path of ``decode_event``: explain why a payload was rejected.

Runs only after the typed decode has failed. It re-reads the payload as plain
JSON and checks it field by field, in a fixed order, with the same msgspec
rules as the typed decode (each field value is decoded alone against the field's
annotated type), so the explanation always agrees with the fast path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import msgspec

from models.event_time import EXPECTED
from models.events import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    SCHEMA_VERSION,
    Channel,
    EventError,
    Kind,
    PaymentEvent,
    cross_field_error,
    decode_hook,
    self_reversal_error,
    show,
    time_range_error,
)

__all__ = ["diagnose"]

_FIELDS: Final = {f.name: f for f in msgspec.structs.fields(PaymentEvent)}
_REQUIRED: Final = tuple(name for name, f in _FIELDS.items() if f.required)
_FIELD_DECODERS: Final = {
    name: msgspec.json.Decoder(f.type, strict=True, dec_hook=decode_hook)
    for name, f in _FIELDS.items()
}
# The JSON type each field must have ("null" allowed for the optional ones).
_JSON_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "schema_version": ("integer",),
    "amount": ("integer",),
    "provider": ("string", "null"),
    "reverses": ("string", "null"),
}
_FIELD_HINTS: Final[dict[str, str]] = {
    "kind": "one of " + ", ".join(k.value for k in Kind),
    "channel": "one of " + ", ".join(c.value for c in Channel),
    "fee_type": "one of phi, le_phi",
    "amount": "an integer number of VND, 0 or more",
    "event_time": EXPECTED,
}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _expected(name: str) -> tuple[str, ...]:
    return _JSON_TYPES.get(name, ("string",))


def _malformed(raw: bytes, exc: Exception) -> EventError:
    detail = str(exc)
    return EventError(
        "malformed_json",
        None,
        None,
        f"payload is not valid JSON ({detail}); payload size {len(raw)} bytes",
    )


def _check_field(name: str, value: Any) -> EventError | None:
    expected = _expected(name)
    actual = _json_type(value)
    if actual not in expected:
        return EventError(
            "wrong_type",
            name,
            value,
            f"field {name!r} = {show(value)}: expected {' or '.join(expected)}, got {actual}",
        )
    try:
        decoded = _FIELD_DECODERS[name].decode(msgspec.json.encode(value))
    except msgspec.ValidationError as exc:
        rule = str(exc).split(" - at ", 1)[0]
        hint = _FIELD_HINTS.get(name)
        message = f"field {name!r} = {show(value)}: invalid value ({rule})"
        if hint:
            message += f"; expected {hint}"
        return EventError("invalid_value", name, value, message)
    if isinstance(decoded, datetime) and not EARLIEST_YEAR <= decoded.year <= LATEST_YEAR:
        return time_range_error(value)
    return None


#: Deeper nesting is malformed whatever the parser's own limit (which, in msgspec, depends on
#: how deep the caller's stack already is, so it would not judge a record the same way twice).
MAX_DEPTH: Final = 64


def _too_deep(raw: bytes) -> bool:
    """True when arrays or objects in ``raw`` nest more than :data:`MAX_DEPTH` levels (strings,
    with their escapes, are skipped)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return False
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def diagnose(raw: bytes, exc: Exception | None = None) -> EventError:
    """The :class:`EventError` that explains why ``raw`` is not a valid event."""
    if _too_deep(raw):
        return _malformed(raw, ValueError(f"arrays or objects nested over {MAX_DEPTH} levels"))
    try:
        doc = msgspec.json.decode(raw)
    except msgspec.DecodeError as decode_exc:
        return _malformed(raw, decode_exc)
    except UnicodeDecodeError as decode_exc:  # a JSON string holding bytes that are not UTF-8
        return _malformed(raw, ValueError(f"a string is not UTF-8: {decode_exc.reason}"))
    except RecursionError:
        return _malformed(raw, ValueError("arrays or objects nested too deeply"))
    if not isinstance(doc, dict):
        return EventError(
            "wrong_type",
            None,
            None,
            f"payload: expected a JSON object, got {_json_type(doc)}",
        )
    # The version first: another version may legitimately have other fields.
    if "schema_version" not in doc:
        return EventError(
            "missing_field",
            "schema_version",
            None,
            "field 'schema_version' is required (value: absent)",
        )
    version = doc["schema_version"]
    if _json_type(version) == "integer" and version != SCHEMA_VERSION:
        return EventError(
            "unsupported_version",
            "schema_version",
            version,
            f"field 'schema_version' = {show(version)}: only version {SCHEMA_VERSION} is supported",
        )
    for name in _REQUIRED:
        if name not in doc:
            return EventError(
                "missing_field", name, None, f"field {name!r} is required (value: absent)"
            )
    for name in doc:
        if name not in _FIELDS:
            # The value is withheld: an unexpected field may carry personal data.
            field = name if len(name) <= 40 else name[:39] + "…"
            return EventError(
                "unknown_field",
                field,
                None,
                f"field {field!r} is not part of schema v{SCHEMA_VERSION} (value not shown)",
            )
    for name in _FIELDS:
        if name in doc:
            error = _check_field(name, doc[name])
            if error is not None:
                return error
    rule_error = cross_field_error(
        Channel(doc["channel"]), doc.get("provider"), Kind(doc["kind"]), doc.get("reverses")
    )
    if rule_error is not None:
        return rule_error
    if doc.get("reverses") is not None and doc["reverses"] == doc["transaction_id"]:
        return self_reversal_error(doc["reverses"])
    return _fallback(exc)


def _fallback(exc: Exception | None) -> EventError:
    """Last resort: the payload decodes here but not in the fast path (should not happen)."""
    message = str(exc) if exc is not None else "unknown reason"
    field = None
    if "`$." in message:
        field = message.rsplit("`$.", 1)[1].rstrip("`").split("`", 1)[0]
    return EventError(
        "invalid_value", field, None, f"field {field!r}: {show(message, 120)} (value not shown)"
    )
