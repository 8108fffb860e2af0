"""The internal topics' messages (streams/wire.py): their encoding, positions and sources."""

from __future__ import annotations

from typing import get_args

import msgspec
import pytest

from streams import counters
from streams.wire import (
    ITEMS_PER_MESSAGE,
    MAX_ITEMS,
    MAX_SOURCE_KEY_BYTES,
    MESSAGE_BYTES,
    UNIT_DELTAS,
    UnitDelta,
    encode,
    message_position,
    messages,
    position,
    source,
)


def test_a_delta_vector_has_one_entry_per_counter_field() -> None:
    assert len(get_args(counters.Deltas)) == len(counters.FIELDS) == 10
    changes = (("2022-03-04", (1,) * 10),)
    assert UNIT_DELTAS.decode(encode([UnitDelta("u", 0, 1, changes)]))[0].changes == changes
    with pytest.raises(msgspec.ValidationError):
        UNIT_DELTAS.decode(encode([UnitDelta("u", 0, 1, (("2022-03-04", (1,) * 9),))]))  # type: ignore[arg-type]


def _delta(unit: str, days: int) -> UnitDelta:
    changes = tuple((f"2022-{1 + d // 28:02d}-{1 + d % 28:02d}", (7,) * 10) for d in range(days))
    return UnitDelta(unit, 0, 1, changes)


def test_messages_hold_at_most_so_many_items_and_so_many_bytes_in_order() -> None:
    small = [_delta(f"u{i}", 1) for i in range(ITEMS_PER_MESSAGE * 2 + 3)]
    by_count = [UNIT_DELTAS.decode(m) for m in messages(small)]
    assert [len(m) for m in by_count] == [ITEMS_PER_MESSAGE, ITEMS_PER_MESSAGE, 3]
    assert [d for m in by_count for d in m] == small
    large = [_delta(f"u{i}", 300) for i in range(200)]  # about 7 KB each
    assert len(encode(large)) > MESSAGE_BYTES
    sent = list(messages(large))
    assert len(sent) > 1 and all(len(m) <= MESSAGE_BYTES for m in sent)
    assert [d for m in sent for d in UNIT_DELTAS.decode(m)] == large
    assert list(messages([])) == []


def test_a_later_item_always_stands_later() -> None:
    assert position(0, MAX_ITEMS - 1) < position(1, 0) < position(1, 1)


def test_a_message_stands_at_or_above_each_of_its_items_and_below_the_next_message() -> None:
    assert position(5, 0) < position(5, 499) <= message_position(5) < position(6, 0)
    assert message_position(5) < message_position(6)


def test_a_source_keeps_at_most_so_much_of_a_key_and_says_how_long_it_was() -> None:
    long_key = b"k" * (MAX_SOURCE_KEY_BYTES + 5)
    cut = source("payments", 2, 7, long_key)
    assert (cut.key, cut.key_size) == (long_key[:MAX_SOURCE_KEY_BYTES], len(long_key))
    assert source("payments", 2, 7, b"p1").key_size == -1
