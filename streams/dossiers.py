"""Dossier stage logic (pure): rules 5 and 6 of the counting spec, per dossier.

The state of a dossier is the set of its counted payments (each with its unit chain, day,
event time, channel and amount) and which of them are reversed. Applying a :class:`Fact` is an
upsert: a payment already known is not counted again, a reversal already applied is not applied
again, so a replayed fact changes nothing. The Decision 766 dossier count is emitted as the
difference between the dossier's contribution before and after the fact, so the final counts
depend only on the set of facts, never on their order. The changes of a message's facts leave
as one delta per unit (:class:`MessageDeltas`).
"""

from __future__ import annotations

import operator
from typing import cast

import msgspec

from streams.counters import FIELDS, INDEX, DayChanges, Deltas
from streams.wire import Fact, Timing, UnitDelta, message_position


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


class MessageDeltas:
    """The unit deltas of one ``payments-by-dossier`` message: at most one per unit, the sum of
    the changes its facts make there (:meth:`add`, fact by fact, in the message's order), all
    standing at the message's :func:`~streams.wire.message_position`.

    Why one delta per message stays exact, with the tally's marks (docs/exactness.md):

    - A message is processed whole (a step is whole messages; the quarantine replays whole
      records) and its facts touch only dossiers of its own partition, whose rows change only
      by that partition's messages, in offset order, and are written between steps.
    - The dossier stage's outputs are acknowledged before its rows are written. So the first
      time a message is processed, every dossier it touches is as it was before the message,
      and that delta, the complete one, is in ``unit-deltas`` before any of the message's rows
      is written: the first delta of (source partition, position) that reaches the tally is the
      complete one, and it marks every row it reaches.
    - A replay (after a crash or a rebalance) recomputes each dossier either from its row
      before the message (the same changes as the first time) or from a row written after it
      (no change at all). Its delta is the sum over a subset of the message's dossiers: it
      reaches only units, days and so rows the complete delta reached, and those are marked at
      its position, so the tally drops it, as it drops a replayed per-fact delta.
    - That needs the complete delta to reach every such row even where its facts cancel out
      (one dossier's count leaving a day another's enters): a day any fact changed is kept
      with a zero sum, a unit any fact changed keeps its delta, and the tally marks the rows of
      zero sums too. Dropped, a replay made of only some of those dossiers would change a row
      the complete delta never marked.
    """

    def __init__(self) -> None:
        self._days: dict[str, dict[str, list[int]]] = {}
        self._timings: dict[str, list[Timing]] = {}

    def add(self, fact: Fact, changes: Changes) -> None:
        """Add ``fact``'s ``changes`` (from :func:`apply_fact`). A newly counted payment with a
        known record time leaves its timing on its first unit's delta (one observation each)."""
        if not changes:
            return
        for unit, day_changes in changes.items():
            days = self._days.get(unit)
            if days is None:
                days = self._days[unit] = {}
            for day, deltas in day_changes:
                summed = days.get(day)
                days[day] = (
                    list(deltas) if summed is None else list(map(operator.add, summed, deltas))
                )
        if fact.produced_ms:
            first = next(iter(changes))
            self._timings.setdefault(first, []).append((fact.event_time_us, fact.produced_ms))

    def deltas(self, source_partition: int, offset: int) -> list[UnitDelta]:
        """The message's deltas, the message being at ``offset`` of ``source_partition``."""
        at = message_position(offset)
        timings = self._timings
        return [
            UnitDelta(
                unit,
                source_partition,
                at,
                tuple([(day, cast(Deltas, tuple(summed))) for day, summed in days.items()]),
                tuple(timings.get(unit, ())),
            )
            for unit, days in self._days.items()
        ]
