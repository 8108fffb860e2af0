"""Messages on paywatch's internal topics, encoded with msgpack (fast, exact integers).

- ``Fact``: ingest -> ``payments-by-dossier``. One counted payment with everything the dossier
  stage needs, and whether it is reversed. A step sends its facts as one message (a list) per
  target partition, the partition that the dossier code hashes to.
- ``Claim``: ingest -> ``payments-by-tx`` (key = the reversed transaction id). A refund or
  cancellation asking to reverse a payment; carries the reversal's raw bytes and source
  coordinates so it can still be dead-lettered later.
- ``Reroute``: ingest -> ``payments-by-tx`` (key = transaction id). A raw event that arrived in a
  ``payments`` partition other than the one its transaction id hashes to.
- ``BulkItem``: ``paywatch replay`` -> ``payments-bulk``. Payment events as they would be on
  ``payments``, up to :data:`BULK_ITEMS` a message, each message holding events of the one
  partition their transaction ids hash to; ingest reads them as it reads ``payments``. An
  item's place is its :func:`position` (the ``offset`` of its ``Source``).
- ``UnitDelta``: dossier -> ``unit-deltas``. Counter changes for one unit from one
  ``payments-by-dossier`` message (the sum of its facts' changes for that unit), named by the
  message's place: its partition and :func:`message_position`. Sent as one message (a list) per
  target partition, the one the unit code hashes to.

Sending lists rather than one message per fact or delta divides the messages a step makes and
consumes by the step's size: Faust's per-message cost, not the counting, bounds throughput.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from streams.counters import DayChanges

#: The longest record key carried on: a key is not used for counting, and a long one would make
#: every message that carries its source (reroutes, claims, dead letters) too large.
MAX_SOURCE_KEY_BYTES = 1024


class Source(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """Where a record was read. ``key`` is the record's key cut to MAX_SOURCE_KEY_BYTES;
    ``key_size`` the whole key's size when it was cut (else -1)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    key_size: int = -1


def source(topic: str, partition: int, offset: int, key: bytes | None) -> Source:
    if key is not None and len(key) > MAX_SOURCE_KEY_BYTES:
        return Source(topic, partition, offset, key[:MAX_SOURCE_KEY_BYTES], len(key))
    return Source(topic, partition, offset, key)


class Fact(msgspec.Struct, array_like=True, frozen=True, tag="f", gc=False):
    tx: str
    dossier: str
    chain: tuple[str, ...]
    day: str  # Vietnam calendar date of the payment, ISO
    event_time_us: int  # microseconds since the epoch (orders payments within a dossier)
    online: bool
    amount: int
    reversed: bool
    produced_ms: int = 0  # Kafka record time of the payment record that made it; 0: unknown


class Claim(msgspec.Struct, array_like=True, frozen=True, tag="c", gc=False):
    target: str  # the transaction id to reverse
    tx: str  # the reversal's own transaction id
    dossier: str
    raw: bytes
    source: Source


class Reroute(msgspec.Struct, array_like=True, frozen=True, tag="r", gc=False):
    raw: bytes
    source: Source


ByTx = Claim | Reroute


class BulkItem(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One payment event of a ``payments-bulk`` message (``paywatch replay``): the record's key
    and value as they would be on ``payments``."""

    key: bytes | None
    raw: bytes


#: (event time in microseconds since the epoch, Kafka record time in milliseconds) of a payment
Timing = tuple[int, int]


class UnitDelta(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One unit's changes from one ``payments-by-dossier`` message (see
    :func:`streams.dossiers.message_deltas`)."""

    unit: str
    source_partition: int  # of payments-by-dossier
    source_position: int  # the source message's message_position() in that partition
    #: (day, the ten counters' deltas) per day any of the message's facts changed for this
    #: unit, summed; a day whose facts cancel out stays, all zeros (its rows are marked).
    changes: DayChanges
    #: For the delay histograms, one per payment of the message newly counted with a known
    #: record time, on the delta of that payment's first unit.
    timings: tuple[Timing, ...] = ()


#: The most bytes of one message paywatch sends (under the broker's 1 MiB message limit).
MESSAGE_BYTES = 900 * 1024
#: Events per ``payments-bulk`` message, and the bytes they may take together (an event is at
#: most 64 KiB).
BULK_ITEMS = 500
BULK_BYTES = MESSAGE_BYTES
#: Facts or unit deltas per message on the internal topics (see :func:`messages`): the dossier
#: stage sums a message's changes per unit, so fuller messages mean fewer deltas to tally.
ITEMS_PER_MESSAGE = 5000
#: More items than any message holds (settings.batch_size is at most 100,000).
MAX_ITEMS = 1 << 20

ENCODER = msgspec.msgpack.Encoder()
FACTS = msgspec.msgpack.Decoder(list[Fact])
BY_TX = msgspec.msgpack.Decoder(ByTx)
UNIT_DELTAS = msgspec.msgpack.Decoder(list[UnitDelta])
BULK = msgspec.msgpack.Decoder(list[BulkItem])


def encode(msg: msgspec.Struct | list[Fact] | list[UnitDelta] | list[BulkItem]) -> bytes:
    return ENCODER.encode(msg)


def messages(items: list[Fact] | list[UnitDelta]) -> Iterator[bytes]:
    """``items`` encoded, in order, as messages of at most :data:`ITEMS_PER_MESSAGE` items and
    :data:`MESSAGE_BYTES` (a fact or a delta is usually about a hundred bytes, but its ids and
    days vary: a chunk that encodes larger is split in two, again if need be)."""
    for start in range(0, len(items), ITEMS_PER_MESSAGE):
        yield from _fitting(items[start : start + ITEMS_PER_MESSAGE])


def _fitting(chunk: list[Fact] | list[UnitDelta]) -> Iterator[bytes]:
    data = encode(chunk)
    if len(data) <= MESSAGE_BYTES or len(chunk) == 1:
        yield data
        return
    half = len(chunk) // 2
    yield from _fitting(chunk[:half])
    yield from _fitting(chunk[half:])


def position(offset: int, index: int) -> int:
    """Where item ``index`` of the message at ``offset`` stands in its partition: increasing
    with offset, then index, so a later item always has a larger position."""
    return offset * MAX_ITEMS + index


def message_position(offset: int) -> int:
    """Where the message at ``offset`` stands as a whole: the position of the last item it
    could hold, so at or above each of its items' and below every item of a later message. A
    mark at it reads as "every item up to this message's last applied". A constant index
    rather than the message's own last one: the place does not depend on how many items the
    message decodes to."""
    return position(offset, MAX_ITEMS - 1)
