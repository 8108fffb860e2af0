"""Counter rows: the contract's Counters fields as a fixed-order list of ints, plus the
idempotence marks that make applying a delta twice impossible.

A stored row is ``[values, marks]``: ``values`` the ten counters, ``marks`` a map from source
partition (of ``payments-by-dossier``) to the last source position applied to this row
(``wire.message_position``: the offset of the message whose delta it was). A delta whose
position is not above the mark is a replay and is dropped. Values and marks live in one table
value, so they are written (and recovered) together.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

import msgspec

from models.kpi import COUNTER_FIELDS, Counters

if TYPE_CHECKING:  # streams.wire imports this module
    from streams.wire import UnitDelta

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


#: One unit's changes from one fact or message: for each day they fall on, the ten counters' deltas
#: (in :data:`FIELDS` order); each applies to that day's row and to its month's and year's.
Deltas = tuple[int, int, int, int, int, int, int, int, int, int]  # one per field
DayChanges = tuple[tuple[str, Deltas], ...]


#: The lengths of the periods :func:`periods` makes ("2022", "2022-03", "2022-03-15"): a row's
#: period kind is read from them without parsing it again (models.periods.period_kind checks).
YEAR_SIZE, MONTH_SIZE, DAY_SIZE = 4, 7, 10


def periods(day: str) -> tuple[str, str, str]:
    """The row periods a day's changes apply to: the day, its month, its year."""
    return day, day[:7], day[:4]


def by_period(changes: DayChanges) -> dict[str, Sequence[int]]:
    """``changes`` summed per row period. A period whose changes cancel out stays, all zeros:
    its row is marked all the same (see :class:`streams.dossiers.MessageDeltas`)."""
    if len(changes) == 1:  # the usual case: one day, nothing to sum
        day, deltas = changes[0]
        return dict.fromkeys(periods(day), deltas)
    out: dict[str, Sequence[int]] = {}
    for day, deltas in changes:
        for period in periods(day):
            summed = out.get(period)
            out[period] = deltas if summed is None else list(map(operator.add, summed, deltas))
    return out


def copied(row: Row) -> Row:
    return Row(row.values.copy(), row.marks.copy())


def tally(
    delta: UnitDelta, row_of: Callable[[str], Row], own: dict[str, Row]
) -> list[tuple[str, Row, bool]]:
    """Add ``delta`` to its rows, all or none: (key, row, whether the delta changed it).

    ``own`` holds the rows the caller may change in place (a step's: it copies each row once,
    the first time one of its deltas reaches it); a row not in it is ``row_of(key)``, which
    must be a row nobody else holds (a copy, or freshly decoded), and joins ``own``. Everything
    that can fail (reading a row, a row of the wrong length) happens before any row changes,
    so a delta that raises leaves every row as it was."""
    partition, at = delta.source_partition, delta.source_position
    staged: list[tuple[str, Row, Sequence[int] | None]] = []
    for period, deltas in by_period(delta.changes).items():
        key = row_key(delta.unit, period)
        row = own.get(key)
        if row is None:
            row = row_of(key)
        if row.marks.get(partition, -1) >= at:
            staged.append((key, row, None))
            continue
        if len(row.values) != len(deltas):
            raise ValueError(f"row {key!r} has {len(row.values)} counters, not {len(deltas)}")
        staged.append((key, row, deltas))
    out = []
    for key, row, adding in staged:
        own[key] = row
        if adding is not None:
            row.values[:] = map(operator.add, row.values, adding)
            row.marks[partition] = at
        out.append((key, row, adding is not None))
    return out


def as_counters(values: Sequence[int]) -> Counters:
    return Counters(*values)  # FIELDS is Counters' own field order


def as_dict(values: Sequence[int]) -> dict[str, int]:
    return dict(zip(FIELDS, values, strict=True))


def row_key(unit: str, period: str) -> str:
    return f"{unit}|{period}"


def split_key(key: str) -> tuple[str, str]:
    unit, _, period = key.partition("|")
    return unit, period


def wanted(query: Mapping[str, str], name: str) -> frozenset[str] | None:
    """The comma-separated values of query parameter ``name`` (None: not given, keep all)."""
    value = query.get(name, "").strip()
    return frozenset(v.strip() for v in value.split(",") if v.strip()) if value else None


def selected(key: str, units: frozenset[str] | None, periods: frozenset[str] | None) -> bool:
    """Whether row ``key`` ("unit|period") is one of ``units`` and ``periods`` (None: any)."""
    unit, period = split_key(key)
    return (units is None or unit in units) and (periods is None or period in periods)
