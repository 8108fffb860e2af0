"""Simulated Kafka records (`SimRecord`) and the wire form of their events: payload dicts in the
portal's field order, times in several valid forms."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import msgspec

from models.periods import VN_TZ

__all__ = ["SimRecord", "encode", "payload", "render_time"]


class SimRecord(msgspec.Struct, frozen=True, array_like=True):
    """One raw Kafka record: key = transaction id (None for some malformed records)."""

    key: bytes | None
    value: bytes


_encode = msgspec.json.Encoder().encode


def encode(doc: dict[str, Any]) -> bytes:
    return _encode(doc)


def render_time(epoch_s: float, rng: random.Random) -> str:
    """An RFC 3339 time for ``epoch_s`` in one of the forms the portal sends: +07:00 (most),
    UTC with Z, local time without an offset (which means Vietnam time), with milliseconds."""
    roll = rng.random()
    if roll < 0.7:
        return datetime.fromtimestamp(epoch_s, VN_TZ).isoformat(timespec="seconds")
    if roll < 0.85:
        return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if roll < 0.95:
        naive = datetime.fromtimestamp(epoch_s, VN_TZ).replace(tzinfo=None)
        return naive.isoformat(timespec="seconds")
    return datetime.fromtimestamp(epoch_s, VN_TZ).isoformat(timespec="milliseconds")


def payload(
    *,
    transaction_id: str,
    kind: str,
    dossier_code: str,
    procedure_code: str,
    unit_code: str,
    channel: str,
    amount: int,
    fee_type: str,
    event_time: str,
    provider: str | None,
    reverses: str | None,
    null_provider: bool = False,
) -> dict[str, Any]:
    """A valid payload in the portal's field order (optional fields left out when None)."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "transaction_id": transaction_id,
        "kind": kind,
        "dossier_code": dossier_code,
        "procedure_code": procedure_code,
        "unit_code": unit_code,
        "channel": channel,
        "amount": amount,
        "fee_type": fee_type,
        "event_time": event_time,
    }
    if provider is not None or null_provider:
        doc["provider"] = provider
    if reverses is not None:
        doc["reverses"] = reverses
    return doc
