"""Helpers for the models tests (a unique module name: never collides with other folders)."""

from __future__ import annotations

import json
from typing import Any


def event_dict(**changes: Any) -> dict[str, Any]:
    """A valid online payment as a JSON-ready dict, with ``changes`` applied."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "transaction_id": "TX-2022-000001",
        "kind": "payment",
        "dossier_code": "000.00.17.H29-220301-0001",
        "procedure_code": "1.004227",
        "unit_code": "04789",
        "channel": "online_portal",
        "amount": 50_000,
        "fee_type": "le_phi",
        "event_time": "2022-03-01T09:30:00+07:00",
        "provider": "VNPay",
    }
    doc.update(changes)
    return doc


def event_bytes(**changes: Any) -> bytes:
    return json.dumps(event_dict(**changes), ensure_ascii=False).encode()
