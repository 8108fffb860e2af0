"""Messages on paywatch's internal topics, encoded with msgpack (fast, exact integers).

- ``Fact``: ingest -> ``payments-by-dossier`` (key = dossier code). One counted payment with
  everything the dossier stage needs, and whether it is reversed.
- ``Claim``: ingest -> ``payments-by-tx`` (key = the reversed transaction id). A refund or
  cancellation asking to reverse a payment; carries the reversal's raw bytes and source
  coordinates so it can still be dead-lettered later.
- ``Reroute``: ingest -> ``payments-by-tx`` (key = transaction id). A raw event that arrived in a
  ``payments`` partition other than the one its transaction id hashes to.
- ``UnitDelta``: dossier -> ``unit-deltas`` (key = unit code). Counter changes for one unit from
  one source message (source partition, offset) of ``payments-by-dossier``.
"""

from __future__ import annotations

import msgspec


class Source(msgspec.Struct, array_like=True, frozen=True):
    topic: str
    partition: int
    offset: int
    key: bytes | None


class Fact(msgspec.Struct, array_like=True, frozen=True, tag="f"):
    tx: str
    dossier: str
    chain: tuple[str, ...]
    day: str  # Vietnam calendar date of the payment, ISO
    ts: int  # event time, microseconds since the epoch (orders payments within a dossier)
    online: bool
    amount: int
    reversed: bool


class Claim(msgspec.Struct, array_like=True, frozen=True, tag="c"):
    target: str  # the transaction id to reverse
    tx: str  # the reversal's own transaction id
    dossier: str
    raw: bytes
    source: Source


class Reroute(msgspec.Struct, array_like=True, frozen=True, tag="r"):
    raw: bytes
    source: Source


ByTx = Claim | Reroute


class UnitDelta(msgspec.Struct, array_like=True, frozen=True):
    unit: str
    sp: int  # source partition (payments-by-dossier)
    so: int  # source offset
    changes: tuple[tuple[str, int, int], ...]  # (period key, field index, delta)


ENCODER = msgspec.msgpack.Encoder()
FACT = msgspec.msgpack.Decoder(Fact)
BY_TX = msgspec.msgpack.Decoder(ByTx)
UNIT_DELTA = msgspec.msgpack.Decoder(UnitDelta)


def encode(msg: msgspec.Struct) -> bytes:
    return ENCODER.encode(msg)
