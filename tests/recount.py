"""The offline recount: the ground truth for any input, computed plainly from the bytes.

Written from the counting rules in docs/counting-rules.md ("What is counted"), independently of the
stream's code and of the simulator's truth. It uses only the shared definitions: decode_event and
fingerprint (what a valid event is and when two are the same), period_keys and local_date (what
period an instant is in), and Registry.chain (who a unit's ancestors are on a date).

Records are taken in input order; where the spec says "the first one stands", first means
earliest in the input.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from models.event_decode import decode_event
from models.events import MAX_WAITING_REVERSALS, EventError, Kind, PaymentEvent, fingerprint
from models.kpi import COUNTER_FIELDS
from models.periods import local_date, period_keys
from models.registry import Registry

FIELDS = COUNTER_FIELDS


@dataclass
class _Payment:
    event: PaymentEvent
    chain: tuple[str, ...]
    periods: tuple[str, str, str]
    reversed: bool = False


@dataclass
class Recount:
    """counters: (unit_code, period_key) -> the ten fields, all-zero entries left out.
    dead_letters: (index in the input, reason), in input order.
    waiting: reversals still waiting for a payment that never came (index, transaction id)."""

    counters: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    dead_letters: list[tuple[int, str]] = field(default_factory=list)
    waiting: list[tuple[int, str]] = field(default_factory=list)
    duplicates: int = 0


def recount(records: Iterable[bytes | None], registry: Registry) -> Recount:
    table: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    dead: list[tuple[int, str]] = []
    seen: dict[str, str] = {}  # transaction id -> fingerprint of the first accepted record
    reversal_ids: set[str] = set()  # transaction ids of accepted refunds/cancellations
    payments: dict[str, _Payment] = {}
    waiting: dict[str, list[tuple[int, PaymentEvent]]] = defaultdict(list)
    duplicates = 0

    def book(payment: _Payment, prefix: str) -> None:
        event = payment.event
        online = event.channel.is_online
        for unit in payment.chain:
            for period in payment.periods:
                row = table[(unit, period)]
                row[prefix] += 1
                row[prefix + "_amount"] += event.amount
                if online:
                    row[prefix + "_online"] += 1
                    row[prefix + "_online_amount"] += event.amount

    def reverse(index: int, reversal: PaymentEvent, payment: _Payment) -> None:
        if reversal.dossier_code != payment.event.dossier_code:
            dead.append((index, "invalid_reversal"))
        elif payment.reversed:
            dead.append((index, "already_reversed"))
        else:
            payment.reversed = True
            book(payment, "reversed")

    for index, raw in enumerate(records):
        # Rule 1: bad records.
        try:
            event = decode_event(raw)
        except EventError as exc:
            dead.append((index, exc.reason))
            continue
        # Rule 2: unknown unit on the event's own (Vietnam) date.
        chain = registry.chain(event.unit_code, local_date(event.event_time))
        if not chain:
            dead.append((index, "unknown_unit"))
            continue
        # Rule 3: duplicates and conflicts.
        tx = event.transaction_id
        digest = fingerprint(event)
        if tx in seen:
            if seen[tx] == digest:
                duplicates += 1
            else:
                dead.append((index, "conflict"))
            continue
        seen[tx] = digest

        if event.kind is Kind.PAYMENT:
            # Rule 4: count into every unit of the chain and every period.
            payment = _Payment(event, chain, period_keys(event.event_time))
            payments[tx] = payment
            book(payment, "paid")
            # Rule 5: reversals that were waiting for this payment, in their input order.
            for waiting_index, reversal in waiting.pop(tx, []):
                reverse(waiting_index, reversal, payment)
            continue

        # A refund or cancellation.
        reversal_ids.add(tx)
        for waiting_index, _ in waiting.pop(tx, []):  # they named a reversal, not a payment
            dead.append((waiting_index, "invalid_reversal"))
        target = event.reverses
        assert target is not None  # decode_event guarantees it
        if target in payments:
            reverse(index, event, payments[target])
        elif target in reversal_ids:
            dead.append((index, "invalid_reversal"))
        elif len(waiting[target]) >= MAX_WAITING_REVERSALS:
            dead.append((index, "too_many_reversals"))
        else:
            waiting[target].append((index, event))

    # Rule 6: Decision 766 dossiers, from the live (counted, not reversed) payments.
    by_dossier: dict[str, list[_Payment]] = defaultdict(list)
    for payment in payments.values():
        if not payment.reversed:
            by_dossier[payment.event.dossier_code].append(payment)
    for live in by_dossier.values():
        if sum(p.event.amount for p in live) <= 0:
            continue
        first = min(live, key=lambda p: (p.event.event_time, p.event.transaction_id))
        online = any(p.event.channel.is_online and p.event.amount > 0 for p in live)
        for unit in first.chain:
            for period in first.periods:
                row = table[(unit, period)]
                row["dossiers"] += 1
                if online:
                    row["dossiers_online"] += 1

    return Recount(
        counters={key: row for key, row in sorted(table.items()) if any(row.values())},
        dead_letters=sorted(dead),
        waiting=sorted((i, r.transaction_id) for rows in waiting.values() for i, r in rows),
        duplicates=duplicates,
    )
