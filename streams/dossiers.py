"""Dossier stage logic (pure): rules 5 and 6 of the counting spec, per dossier.

The state of a dossier is the set of its counted payments (each with its unit chain, day,
event time, channel and amount) and which of them are reversed. Applying a :class:`Fact` is an
upsert: a payment already known is not counted again, a reversal already applied is not applied
again, so a replayed fact changes nothing. The Decision 766 dossier count is emitted as the
difference between the dossier's contribution before and after the fact, so the final counts
depend only on the set of facts, never on their order.
"""

from __future__ import annotations

from typing import cast

import msgspec

from streams.counters import FIELDS, INDEX, DayChanges, Deltas
from streams.wire import Fact, UnitDelta


class Payment(msgspec.Struct, array_like=True, gc=False):
    chain: tuple[str, ...]
    day: str
    event_time_us: int
    online: bool
    amount: int
    reversed: bool


class Dossier(msgspec.Struct, array_like=True, gc=False):
    payments: dict[str, Payment]


_ENC = msgspec.msgpack.Encoder()
_DEC = msgspec.msgpack.Decoder(Dossier)

#: unit -> its changes (see :data:`streams.counters.DayChanges`)
Changes = dict[str, DayChanges]
#: what a fact adds: (unit chain, day, [(field index, delta)]), for each period of the day
_Adds = list[tuple[tuple[str, ...], str, list[tuple[int, int]]]]

_PAID = (INDEX["paid"], INDEX["paid_online"], INDEX["paid_amount"], INDEX["paid_online_amount"])
_REV = (
    INDEX["reversed"],
    INDEX["reversed_online"],
    INDEX["reversed_amount"],
    INDEX["reversed_online_amount"],
)
_DOSSIERS, _DOSSIERS_ONLINE = INDEX["dossiers"], INDEX["dossiers_online"]


def load(raw: bytes | None) -> Dossier:
    return Dossier({}) if raw is None else _DEC.decode(raw)


def dump(dossier: Dossier) -> bytes:
    return _ENC.encode(dossier)


Contribution = tuple[tuple[str, ...], str, bool] | None


def contribution(dossier: Dossier) -> Contribution:
    """Where the dossier counts (chain, day, online) under Decision 766, or None."""
    live = [(p.event_time_us, tx, p) for tx, p in dossier.payments.items() if not p.reversed]
    if sum(p.amount for _, _, p in live) <= 0:
        return None
    _, _, first = min(live, key=lambda item: (item[0], item[1]))
    online = any(p.online and p.amount > 0 for _, _, p in live)
    return first.chain, first.day, online


def _per_unit(adds: _Adds) -> Changes:
    """The changes of each unit in the chains of ``adds``. Usually every add has the same
    chain (the payment's own, and its dossier's count moving within it); then its units share
    one merged tuple."""
    if not adds:
        return {}
    chain = adds[0][0]
    if all(add[0] == chain for add in adds):
        merged = _merged(adds)
        return dict.fromkeys(chain, merged) if merged else {}
    by_unit: dict[str, _Adds] = {}
    for add in adds:
        for unit in add[0]:
            by_unit.setdefault(unit, []).append(add)
    out = {}
    for unit, unit_adds in by_unit.items():
        merged = _merged(unit_adds)
        if merged:
            out[unit] = merged
    return out


def _merged(adds: _Adds) -> DayChanges:
    by_day: dict[str, list[int]] = {}
    for _, day, items in adds:
        deltas = by_day.get(day)
        if deltas is None:
            deltas = by_day[day] = [0] * len(FIELDS)
        for index, delta in items:
            deltas[index] += delta
    return tuple([(day, cast(Deltas, tuple(d))) for day, d in by_day.items() if any(d)])


def _money(fields: tuple[int, int, int, int], payment: Payment) -> list[tuple[int, int]]:
    online = 1 if payment.online else 0
    return [
        (fields[0], 1),
        (fields[1], online),
        (fields[2], payment.amount),
        (fields[3], payment.amount * online),
    ]


def apply_fact(dossier: Dossier, fact: Fact) -> tuple[Dossier, Changes]:
    """The dossier with ``fact`` applied (a new one when it changes; ``dossier`` itself is never
    changed) and the counter changes per unit."""
    adds: _Adds = []
    before = contribution(dossier)
    known = dossier.payments.get(fact.tx)
    if known is None:
        payment = Payment(
            fact.chain, fact.day, fact.event_time_us, fact.online, fact.amount, fact.reversed
        )
        dossier = Dossier({**dossier.payments, fact.tx: payment})
        adds.append((payment.chain, payment.day, _money(_PAID, payment)))
        if payment.reversed:
            adds.append((payment.chain, payment.day, _money(_REV, payment)))
    elif fact.reversed and not known.reversed:
        known = msgspec.structs.replace(known, reversed=True)
        dossier = Dossier({**dossier.payments, fact.tx: known})
        adds.append((known.chain, known.day, _money(_REV, known)))
    else:
        return dossier, {}
    after = contribution(dossier)
    if before != after:
        if before is not None:
            adds.append((before[0], before[1], [(_DOSSIERS, -1), (_DOSSIERS_ONLINE, -before[2])]))
        if after is not None:
            adds.append((after[0], after[1], [(_DOSSIERS, 1), (_DOSSIERS_ONLINE, after[2])]))
    return dossier, _per_unit(adds)


def unit_deltas(
    fact: Fact, changes: Changes, source_partition: int, source_position: int
) -> list[UnitDelta]:
    """The unit deltas of ``fact``'s ``changes`` (from :func:`apply_fact`), the fact being at
    ``source_position`` of ``source_partition``; the first carries the payment's times."""
    made = []
    produced_ms = fact.produced_ms
    for unit, merged in changes.items():
        made.append(
            UnitDelta(
                unit, source_partition, source_position, merged, fact.event_time_us, produced_ms
            )
        )
        produced_ms = 0
    return made
