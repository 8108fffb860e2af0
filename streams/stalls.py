"""Which source partitions stopped short of their end, and when to read them again.

A fetch that returns after a rebalance's seek can move the fetcher past events the rebalance
dropped; with nothing after them, no gap ever shows and the partition waits for its next event
(docs/exactness.md, Rebalances). The worker checks every ``check_s`` seconds while it has no
step to take: a partition behind its end at the same offset on two checks in a row is sought
back to that offset. If it is still stopped there later, it is sought again, after twice the
last wait each time, up to ``max_wait_s``: a seek that did not bring the event (the same race
again) is retried instead of leaving the partition stopped for good, and an end that is a
transaction marker (no event to come) costs one cheap seek per ``max_wait_s``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

TP = TypeVar("TP", bound=Hashable)


@dataclass
class _Sought:
    offset: int
    next_s: float  # monotonic time of the next seek allowed at this offset
    wait_s: float  # the wait before it


@dataclass
class Stalls(Generic[TP]):
    check_s: float
    max_wait_s: float
    _waiting_at: dict[TP, int] = field(default_factory=dict)
    _sought: dict[TP, _Sought] = field(default_factory=dict)

    def busy(self) -> None:
        """The worker took a step or rebalances: a partition's events may wait in a queue
        behind others', so nothing counts as stopped until two quiet checks agree again."""
        self._waiting_at.clear()

    def to_seek(self, behind: Mapping[TP, int], now_s: float) -> dict[TP, int]:
        """The partitions to seek back now, and to which offset; ``behind``: each partition
        behind its end, with the offset of the next event it waits for."""
        due = {}
        for tp, offset in behind.items():
            if self._waiting_at.get(tp) != offset:
                continue  # moved since the last check, or first seen behind
            sought = self._sought.get(tp)
            if sought is None or sought.offset != offset:
                self._sought[tp] = _Sought(offset, now_s + 2 * self.check_s, 2 * self.check_s)
                due[tp] = offset
            elif now_s >= sought.next_s:
                sought.wait_s = min(2 * sought.wait_s, self.max_wait_s)
                sought.next_s = now_s + sought.wait_s
                due[tp] = offset
        self._waiting_at = dict(behind)
        return due

    def forget(self, tp: TP) -> None:
        """``tp`` is no longer this worker's."""
        self._waiting_at.pop(tp, None)
        self._sought.pop(tp, None)
