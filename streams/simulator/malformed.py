"""Records the decoder must reject, one builder per kind, each with the reason
(``EventError.reason``) the decoder gives for it.

Every builder starts from a valid payload (a dict in wire form) and breaks exactly one thing.
No record contains a line break, so a JSON Lines file keeps one record per line.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Final

import msgspec

__all__ = ["MALFORMED_KINDS", "Malformed", "build_malformed"]

Payload = dict[str, Any]
Malformed = tuple[bytes, str]  # (record value, expected reason)


def _enc(doc: object) -> bytes:
    return msgspec.json.encode(doc)


def _with(doc: Payload, **changes: Any) -> bytes:
    out = dict(doc)
    out.update(changes)
    return _enc(out)


def _without(doc: Payload, name: str) -> bytes:
    return _enc({k: v for k, v in doc.items() if k != name})


def _truncated(doc: Payload, rng: random.Random) -> bytes:
    raw = _enc(doc)
    return raw[: rng.randint(1, len(raw) - 2)]


def _missing(doc: Payload, rng: random.Random) -> bytes:
    name = rng.choice(
        ["transaction_id", "kind", "dossier_code", "unit_code", "amount", "event_time"]
    )
    return _without(doc, name)


def _online_without_provider(doc: Payload, rng: random.Random) -> bytes:
    out = {k: v for k, v in doc.items() if k != "provider"}
    out["channel"] = rng.choice(["online_portal", "online_gateway"])
    return _enc(out)


def _offline_with_provider(doc: Payload, rng: random.Random) -> bytes:
    return _with(doc, channel="offline_cash", provider=rng.choice(["VNPAY", "NAPAS"]))


def _refund_without_reverses(doc: Payload, rng: random.Random) -> bytes:
    out = {k: v for k, v in doc.items() if k != "reverses"}
    out["kind"] = rng.choice(["refund", "cancellation"])
    return _enc(out)


def _time_without_date(doc: Payload, rng: random.Random) -> bytes:
    return _with(doc, event_time=f"{rng.randint(7, 16):02d}:{rng.randint(0, 59):02d}:00")


_BUILDERS: Final[dict[str, tuple[str, Callable[[Payload, random.Random], bytes]]]] = {
    "truncated_json": ("malformed_json", _truncated),
    "not_json": ("malformed_json", lambda d, r: b"<html><body>502 Bad Gateway</body></html>"),
    "not_utf8": ("malformed_json", lambda d, r: b'{"transaction_id": "\xff\xfe\xfa"}'),
    "empty": ("malformed_json", lambda d, r: b""),
    "not_an_object": ("wrong_type", lambda d, r: _enc([d["transaction_id"], d["amount"]])),
    "missing_field": ("missing_field", _missing),
    "missing_version": ("missing_field", lambda d, r: _without(d, "schema_version")),
    "unsupported_version": ("unsupported_version", lambda d, r: _with(d, schema_version=2)),
    "unknown_field": ("unknown_field", lambda d, r: _with(d, citizen_phone="0912345678")),
    "amount_as_string": ("wrong_type", lambda d, r: _with(d, amount=str(d["amount"]))),
    "amount_as_float": ("wrong_type", lambda d, r: _with(d, amount=d["amount"] + 0.5)),
    "unit_as_number": ("wrong_type", lambda d, r: _with(d, unit_code=12345)),
    "negative_amount": ("invalid_value", lambda d, r: _with(d, amount=-r.randint(1, 500) * 1000)),
    "unknown_channel": ("invalid_value", lambda d, r: _with(d, channel="qr_code")),
    "unknown_kind": ("invalid_value", lambda d, r: _with(d, kind="chargeback")),
    "unknown_fee_type": ("invalid_value", lambda d, r: _with(d, fee_type="thue")),
    "empty_transaction_id": ("invalid_value", lambda d, r: _with(d, transaction_id="")),
    "time_without_date": ("invalid_value", _time_without_date),
    "impossible_date": (
        "invalid_value",
        lambda d, r: _with(d, event_time="2022-02-30T09:15:00+07:00"),
    ),
    "year_out_of_range": (
        "invalid_value",
        lambda d, r: _with(d, event_time="1899-12-31T09:15:00+07:00"),
    ),
    "online_without_provider": ("missing_field", _online_without_provider),
    "offline_with_provider": ("invalid_value", _offline_with_provider),
    "payment_with_reverses": ("invalid_value", lambda d, r: _with(d, reverses="TX-UNKNOWN")),
    "reversal_without_reverses": ("missing_field", _refund_without_reverses),
    "self_reversal": (
        "invalid_value",
        lambda d, r: _with(d, kind="refund", reverses=d["transaction_id"]),
    ),
}

#: Every malformed kind the simulator produces, in a fixed order.
MALFORMED_KINDS: Final = tuple(_BUILDERS)


def build_malformed(kind: str, valid: Payload, rng: random.Random) -> Malformed:
    """Break ``valid`` (an offline payment payload) in the way named ``kind``."""
    reason, builder = _BUILDERS[kind]
    raw = builder(valid, rng)
    if b"\n" in raw or b"\r" in raw:  # pragma: no cover - builders never add line breaks
        raise AssertionError(f"malformed kind {kind} produced a line break")
    return raw, reason
