"""The JSON Schema of the payment event, generated from :class:`models.events.PaymentEvent`.

``deploy/schema/payment-event.v1.schema.json`` is this function's output (regenerate with
``python deploy/schema/generate.py``); a test fails if the two ever drift apart.
The schema adds what msgspec cannot infer: field descriptions, the RFC 3339 pattern of
``event_time`` and the rules linking ``provider`` to ``channel`` and ``reverses`` to ``kind``.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Final

import msgspec

from models.events import SCHEMA_VERSION, Channel, Kind, PaymentEvent

__all__ = ["SCHEMA_ID", "json_schema", "render"]

SCHEMA_ID: Final = f"https://paywatch.invalid/schema/payment-event.v{SCHEMA_VERSION}.schema.json"

#: The syntax of models/event_time.py; what a pattern cannot say (the calendar, when a leap
#: second is valid, the year in Vietnam time) is in the description.
_RFC3339: Final = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?$"
)

_DESCRIPTIONS: Final[dict[str, str]] = {
    "schema_version": f"Schema version; must be {SCHEMA_VERSION}.",
    "transaction_id": "Payment platform transaction id; unique per payment (also the Kafka key).",
    "kind": "payment, or a refund/cancellation that reverses an earlier payment.",
    "dossier_code": "Dossier code (mã hồ sơ) the fee belongs to.",
    "procedure_code": "Administrative procedure code (mã TTHC).",
    "unit_code": (
        "Registry code of the unit that handles the dossier: a GSO code, zero-padded "
        '("17", "148", "04789"), or a department code such as "17.SYT".'
    ),
    "channel": (
        "online_portal (National Public Service Portal, Decision 766 flag 1), online_gateway "
        "(ministry/provincial gateway, flag 2), or offline_counter / offline_cash / "
        "offline_transfer."
    ),
    "amount": "Amount in VND, integer >= 0. Ignored for refunds and cancellations.",
    "fee_type": "phi (phí) or le_phi (lệ phí).",
    "event_time": (
        "RFC 3339 date and time, seconds required; the offset with its colon (+07:00, not "
        "+0700); a leap second (:60) only at 23:59:60 UTC on the last day of a month. "
        "Without a UTC offset the time is Vietnam time (Asia/Ho_Chi_Minh, UTC+07:00); a "
        "space may stand for the T. The year, in Vietnam time, is 2000..2099."
    ),
    "provider": "Payment provider (e.g. VNPay, NAPAS); required when online, absent when offline.",
    "reverses": "transaction_id of the payment reversed; required for refund/cancellation only.",
}


def _cross_field_rules() -> list[dict[str, Any]]:
    online = sorted(c.value for c in Channel if c.is_online)
    offline = sorted(c.value for c in Channel if not c.is_online)
    reversing = sorted(k.value for k in Kind if k is not Kind.PAYMENT)
    string = {"type": "string", "minLength": 1}
    return [
        {
            "if": {"properties": {"channel": {"enum": online}}, "required": ["channel"]},
            "then": {"required": ["provider"], "properties": {"provider": string}},
        },
        {
            "if": {"properties": {"channel": {"enum": offline}}, "required": ["channel"]},
            "then": {"properties": {"provider": {"type": "null"}}},
        },
        {
            "if": {"properties": {"kind": {"enum": reversing}}, "required": ["kind"]},
            "then": {"required": ["reverses"], "properties": {"reverses": string}},
            "else": {"properties": {"reverses": {"type": "null"}}},
        },
    ]


def _string(kind: type) -> dict[str, Any]:
    """``event_time``'s decoded type (replaced by the pattern below)."""
    return {"type": "string"}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a schema-v1 payment event."""
    generated = msgspec.json.schema(PaymentEvent, schema_hook=_string)
    defs: dict[str, Any] = copy.deepcopy(generated["$defs"])
    event: dict[str, Any] = defs.pop("PaymentEvent")
    props: dict[str, Any] = event["properties"]
    props["schema_version"] = {"type": "integer", "const": SCHEMA_VERSION}
    props["event_time"] = {"type": "string", "pattern": _RFC3339}
    for name, text in _DESCRIPTIONS.items():
        props[name] = {"description": text, **props[name]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"paywatch payment event, schema version {SCHEMA_VERSION}",
        "description": (
            "One payment, refund or cancellation of a public-service fee, as sent by the "
            "payment platform to the Kafka topic 'payments' (key = transaction_id). "
            "Generated from models/events.py by models/schema.py; do not edit by hand."
        ),
        "type": "object",
        "properties": props,
        "required": event["required"],
        "additionalProperties": False,
        "allOf": _cross_field_rules(),
        "$defs": defs,
    }


def render() -> str:
    """The schema file's exact text (stable: 2-space indent, UTF-8, final newline)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
