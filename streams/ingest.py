"""Ingest stage logic (pure): rules 1 to 5 of the counting spec, per transaction id.

State per transaction id (:class:`TxRecord`): the first accepted event's fingerprint and what a
later reversal needs of it, which reversal (if any) reversed it, and reversals that arrived
before it (``waiting``). A record with ``fingerprint=None`` is a placeholder made by an early
reversal.

Each handler takes the current record (or None) and returns the new record (or None for no
change) and the messages to send. The caller sends them, waits for the broker's acks and only
then stores the records, so a crash can only replay a step, never lose its output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import msgspec

from models.event_decode import decode_event
from models.events import MAX_WAITING_REVERSALS, EventError, Kind, PaymentEvent, fingerprint
from models.periods import local_date
from models.registry import Registry
from streams.murmur2 import murmur2
from streams.wire import Claim, Fact, Reroute, Source


class Waiting(msgspec.Struct, array_like=True, frozen=True, gc=False):
    tx: str
    dossier: str
    raw: bytes
    source: Source


class TxRecord(msgspec.Struct, array_like=True, gc=False):
    fingerprint: str | None
    kind: str = ""
    dossier: str = ""
    chain: tuple[str, ...] = ()
    day: str = ""
    event_time_us: int = 0
    online: bool = False
    amount: int = 0
    seen: int = 0  # proleptic ordinal of the event's local date (retention)
    partition: int = -1  # the partition whose store holds this record
    reversed_by: str | None = None
    waiting: list[Waiting] = []
    #: Where the accepted event was read (its payments partition and offset): the same event
    #: read again is a replay after a restart, not a duplicate sent by the portal.
    origin: tuple[int, int] | None = None


_ENC = msgspec.msgpack.Encoder()
_DEC = msgspec.msgpack.Decoder(TxRecord)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load(raw: bytes | None) -> TxRecord | None:
    return None if raw is None else _DEC.decode(raw)


def dump(record: TxRecord) -> bytes:
    return _ENC.encode(record)


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    detail: str
    raw: bytes | None  # None: the record had no value
    source: Source


@dataclass
class Outcome:
    record: TxRecord | None = None  # the new record to store (None: unchanged)
    facts: list[Fact] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    reroutes: list[tuple[int, Reroute]] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    duplicate: bool = False  # the same event again, sent twice by its source
    replayed: bool = False  # the same record read again (a replay after a restart)


@lru_cache(maxsize=1 << 16)
def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as Java and aiokafka) gives ``key``
    (streams/murmur2.py)."""
    digest: int = murmur2(key.encode())
    return (digest & 0x7FFFFFFF) % partitions


def epoch_us(time: datetime) -> int:
    delta = time - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Ingest:
    def __init__(self, registry: Registry, partitions: int, bulk_topic: str = "") -> None:
        self.registry = registry
        self.partitions = partitions
        self.bulk_topic = bulk_topic

    def origin(self, source: Source) -> tuple[int, int]:
        """Where an accepted event was read, as its record keeps it: (partition, offset) in
        ``payments``; (-1 - partition, position) in ``payments-bulk``, so the two never meet."""
        if source.topic == self.bulk_topic:
            return -1 - source.partition, source.offset
        return source.partition, source.offset

    def route(
        self, raw: bytes | None, source: Source, partition: int
    ) -> tuple[PaymentEvent | None, Outcome | None]:
        """Decode; dead-letter a bad record; reroute one read from a partition (``partition``)
        other than the one its transaction id hashes to, where its record lives."""
        try:
            event = decode_event(raw)
        except EventError as exc:
            return None, Outcome(dead=[DeadLetter(exc.reason, str(exc), raw, source)])
        home = partition_for(event.transaction_id, self.partitions)
        if home != partition:
            assert raw is not None  # it decoded
            return None, Outcome(reroutes=[(home, Reroute(raw, source))])
        return event, None

    def on_event(
        self,
        event: PaymentEvent,
        raw: bytes,
        source: Source,
        current: TxRecord | None,
        partition: int,
    ) -> Outcome:
        day = local_date(event.event_time)
        chain = self.registry.chain(event.unit_code, day)
        if not chain:  # rule 2 comes before rule 3: an unknown-unit record is never "seen"
            detail = f"unit {event.unit_code!r} unknown on {day.isoformat()}"
            return Outcome(dead=[DeadLetter("unknown_unit", detail, raw, source)])
        event_fingerprint = fingerprint(event)
        if current is not None and current.fingerprint is not None:
            if current.fingerprint == event_fingerprint:
                if current.origin == self.origin(source):
                    return Outcome(replayed=True)
                return Outcome(duplicate=True)
            detail = f"transaction {event.transaction_id!r} seen before with another payload"
            return Outcome(dead=[DeadLetter("conflict", detail, raw, source)])
        waiting = [] if current is None else current.waiting
        record = TxRecord(
            fingerprint=event_fingerprint,
            kind=event.kind.value,
            dossier=event.dossier_code,
            chain=chain,
            day=day.isoformat(),
            event_time_us=epoch_us(event.event_time),
            online=event.channel.is_online,
            amount=event.amount,
            seen=day.toordinal(),
            partition=partition,
            origin=self.origin(source),
        )
        out = Outcome(record=record)
        for early in waiting:
            self._judge(record, early, out)
        if event.kind is Kind.PAYMENT:
            out.facts.append(self._fact(event.transaction_id, record))
        else:
            assert event.reverses is not None
            claim = Claim(event.reverses, event.transaction_id, event.dossier_code, raw, source)
            out.claims.append(claim)
        return out

    def on_claim(self, claim: Claim, current: TxRecord | None, partition: int) -> Outcome:
        waiting = Waiting(claim.tx, claim.dossier, claim.raw, claim.source)
        if current is None or current.fingerprint is None:
            record = current or TxRecord(fingerprint=None, partition=partition)
            if any(w.tx == claim.tx for w in record.waiting):
                return Outcome()
            if len(record.waiting) >= MAX_WAITING_REVERSALS:
                detail = f"{MAX_WAITING_REVERSALS} reversals already wait for {claim.target!r}"
                dead = DeadLetter("too_many_reversals", detail, claim.raw, claim.source)
                return Outcome(dead=[dead])
            record.waiting = [*record.waiting, waiting]
            if not record.seen:
                record.seen = _claim_day(claim)
            return Outcome(record=record)
        out = Outcome()
        if self._judge(current, waiting, out):
            out.record = current
            out.facts.append(self._fact(claim.target, current))
        return out

    def _judge(self, record: TxRecord, claim: Waiting, out: Outcome) -> bool:
        """Resolve reversal ``claim`` against the known transaction ``record``; True when it
        reverses the payment now."""
        if record.kind != Kind.PAYMENT.value:
            detail = "the reversed transaction is itself a refund or cancellation"
            out.dead.append(DeadLetter("invalid_reversal", detail, claim.raw, claim.source))
        elif record.dossier != claim.dossier:
            detail = "the reversed payment belongs to another dossier"
            out.dead.append(DeadLetter("invalid_reversal", detail, claim.raw, claim.source))
        elif record.reversed_by is None:
            record.reversed_by = claim.tx
            return True
        elif record.reversed_by != claim.tx:
            detail = f"already reversed by {record.reversed_by!r}"
            out.dead.append(DeadLetter("already_reversed", detail, claim.raw, claim.source))
        return False

    @staticmethod
    def _fact(tx: str, record: TxRecord) -> Fact:
        return Fact(
            tx=tx,
            dossier=record.dossier,
            chain=record.chain,
            day=record.day,
            event_time_us=record.event_time_us,
            online=record.online,
            amount=record.amount,
            reversed=record.reversed_by is not None,
        )


def _claim_day(claim: Claim) -> int:
    try:
        return local_date(decode_event(claim.raw).event_time).toordinal()
    except EventError:  # pragma: no cover - a claim's raw bytes decoded once already
        return 0
