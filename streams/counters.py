"""Counter rows: the contract's Counters fields as a fixed-order list of ints, plus the
idempotence marks that make applying a delta twice impossible.

A stored row is ``[values, marks]``: ``values`` the ten counters, ``marks`` a map from source
partition (of ``payments-by-dossier``) to the last source position (``wire.position``: offset
and index of the fact) applied to this row. A delta whose position is not above the mark is a
replay and is dropped. Values and marks live in
one table value, so they are written (and recovered) together.
"""

from __future__ import annotations

from typing import Final

import msgspec

from models.kpi import COUNTER_FIELDS, Counters

FIELDS = COUNTER_FIELDS
INDEX: Final = {name: i for i, name in enumerate(FIELDS)}


class Row(msgspec.Struct, array_like=True, gc=False):
    values: list[int]
    marks: dict[int, int]


_ENC = msgspec.msgpack.Encoder()
_DEC = msgspec.msgpack.Decoder(Row)


def empty() -> Row:
    return Row([0] * len(FIELDS), {})


def load(raw: bytes | None) -> Row:
    return empty() if raw is None else _DEC.decode(raw)


def dump(row: Row) -> bytes:
    return _ENC.encode(row)


def applied(row: Row, partition: int, seq: int, changes: list[tuple[int, int]]) -> Row | None:
    """``row`` with ``changes`` (field index, delta) added, as a new row; None when this source
    position was applied already. ``row`` itself is never changed, so a change that fails half
    way leaves nothing behind."""
    if row.marks.get(partition, -1) >= seq:
        return None
    values = list(row.values)
    for index, delta in changes:
        values[index] += delta
    return Row(values, {**row.marks, partition: seq})


def as_counters(values: list[int]) -> Counters:
    return Counters(**dict(zip(FIELDS, values, strict=True)))


def as_dict(values: list[int]) -> dict[str, int]:
    return dict(zip(FIELDS, values, strict=True))


def row_key(unit: str, period: str) -> str:
    return f"{unit}|{period}"


def split_key(key: str) -> tuple[str, str]:
    unit, _, period = key.partition("|")
    return unit, period
