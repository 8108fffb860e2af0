"""The one builder of test payments (PaymentEvent JSON v1): a valid online payment in Hòa Bình
(commune 04789, Phường Thái Bình) on 1 March 2022, with the fields a test cares about changed.

A change to None leaves the field out. A test module that needs other defaults for all its
events passes them as a dict (``event_bytes(**OFFLINE, amount=...)``), not a builder of its own.
"""

from __future__ import annotations

import json
from typing import Any

#: Paid at a counter in cash: no payment provider.
OFFLINE: dict[str, Any] = {"channel": "offline_cash", "provider": None}


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
    return {name: value for name, value in doc.items() if value is not None}


def event_bytes(**changes: Any) -> bytes:
    """`event_dict` as the JSON bytes a producer sends."""
    return json.dumps(event_dict(**changes), ensure_ascii=False).encode()


def event_record(tx: str, **changes: Any) -> tuple[bytes, bytes]:
    """A Kafka record of payment ``tx`` (its own dossier ``D-tx``), keyed by its transaction id
    as the portal keys them."""
    return tx.encode(), event_bytes(**{"dossier_code": f"D-{tx}", **changes, "transaction_id": tx})


def small_cases() -> list[tuple[bytes | None, bytes]]:
    """Records that each exercise one counting rule, in an order that tests them: duplicates, a
    conflict, bad records, reversals before and after their payment, late and free payments."""
    return [
        event_record("p1"),  # plain online payment
        event_record("p1"),  # exact duplicate
        event_record("p1", amount=60_000),  # conflict
        (b"bad", b"{not json"),  # malformed
        event_record("p2", unit_code="99999"),  # unknown unit
        event_record("p3", dossier_code="D-x", **OFFLINE),  # offline payment in dossier D-x
        # a refund after its payment
        event_record("r3", kind="refund", reverses="p3", dossier_code="D-x", **OFFLINE),
        # a cancellation before its payment
        event_record("r4", kind="cancellation", reverses="p4", dossier_code="D-y", **OFFLINE),
        event_record("p4", dossier_code="D-y", unit_code="17.SCT", amount=10_000),  # its payment
        # a second reversal
        event_record("r4b", kind="refund", reverses="p4", dossier_code="D-y", **OFFLINE),
        # reverses a refund
        event_record("r5", kind="refund", reverses="r3", dossier_code="D-x", **OFFLINE),
        event_record("p6", dossier_code="D-z", event_time="2022-06-01T08:00:00+07:00"),
        # a refund in another dossier
        event_record("r6", kind="refund", reverses="p6", dossier_code="D-other", **OFFLINE),
        event_record("p7", event_time="2021-12-31T23:30:00Z", **OFFLINE),  # 2022-01-01 in Vietnam
        # a late payment
        event_record("p8", dossier_code="D-z", event_time="2022-01-15T08:00:00+07:00", **OFFLINE),
        # a free payment
        event_record("p9", dossier_code="D-z", amount=0, event_time="2021-01-01T08:00:00+07:00"),
        event_record("p10", dossier_code="D-0", amount=0),  # a dossier of zero fees: counts nowhere
    ]
