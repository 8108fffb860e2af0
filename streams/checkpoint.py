"""The checkpoint: how one agent's steps become durable, in a fixed order.

A step reads its state through the checkpoint (rows changed since the last checkpoint first,
then, where the agent keeps them, the rows the last checkpoint wrote, then the table), computes
its outputs, sends them, and puts the rows it changed back into the checkpoint instead of the
table. Its source events are *held*: not acknowledged, so no offset
commit can pass them. Every ``interval_s`` seconds, or once ``max_events`` events are held,
the checkpoint runs:

1. Wait for the broker's acknowledgement of every output sent since the last checkpoint (the
   next stage's messages, dead letters).
2. Write each changed row to its table once, whatever number of events changed it: the local
   store (one write batch per partition) and one changelog message per row (under the
   partition of the last event that changed it, sent in record batches), and wait for the
   changelog's acknowledgement.
3. Release the held events (acknowledge them).
4. Faust's own commit, on its timer (``broker_commit_interval``, set to the checkpoint
   interval), commits the offsets of acknowledged events.

So state never runs ahead of the outputs it implies (1 before 2), and an offset is never
committed before the state of its event is in the changelog (2 before 3, and Faust's 4). A
crash anywhere loses only what a replay of the held events rebuilds: every stage is idempotent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from faust.types import EventT

from streams import seam
from streams.quarantine import StoreError

V = TypeVar("V")

#: The largest table row written: its changelog message must fit under the broker's 1 MiB.
MAX_ROW_BYTES = 900 * 1024


class RowTooLarge(ValueError):
    """A row grew past :data:`MAX_ROW_BYTES`: the doing of the records that grew it."""


def dump_bounded(dump: Callable[[V], bytes], key: str, value: V) -> bytes:
    data = dump(value)
    if len(data) > MAX_ROW_BYTES:
        raise RowTooLarge(f"row {key!r} would be {len(data)} bytes (limit {MAX_ROW_BYTES})")
    return data


async def write(table: Any, rows: Sequence[seam.Row]) -> None:
    """Write ``rows`` to ``table`` and wait until their changelog messages are acknowledged."""
    if not rows:
        return
    try:
        sent = await seam.write_rows(table, rows)
        seam.persisted(table, await asyncio.gather(*sent))
    except Exception as exc:
        raise StoreError(f"writing table {table.name}") from exc


class Checkpoint(Generic[V]):
    """The pending state of one agent: changed rows, unacknowledged outputs, held events."""

    def __init__(
        self,
        table: Any,
        dump: Callable[[V], bytes],
        interval_s: float,
        max_events: int,
        after: Callable[[], Awaitable[None]] | None = None,
        *,
        keep_written: bool = False,
    ) -> None:
        self.table = table
        self.after = after
        self.dump = dump
        self.interval_s = interval_s
        self.max_events = max_events
        self.lock = asyncio.Lock()
        self.rows: dict[str, tuple[EventT[bytes], V]] = {}
        # The rows the last checkpoint wrote, as values: a hot row (a province's year) is read
        # again by the next steps, and reading it back from the store means decoding it again.
        # Only equal to the store while no rebalance happened (see forget_written).
        self.keep_written = keep_written
        self.written_rows: dict[str, tuple[EventT[bytes], V]] = {}
        self._watchers: list[set[str]] = []
        self.outputs: list[Awaitable[Any]] = []
        self.held: list[EventT[bytes]] = []
        self._opened_s = time.monotonic()
        self.written = 0  # rows written by checkpoints (for the figures)

    # -- the step side -------------------------------------------------------------------------
    def get(self, key: str) -> bytes | V | None:
        """A row as the last step left it (a value), else as stored (bytes), else None."""
        held = self.rows.get(key)
        if held is not None:
            return held[1]
        written = self.written_rows.get(key)
        if written is not None:
            return written[1]
        try:
            return seam.read_row(self.table, key.encode())
        except Exception as exc:
            raise StoreError(f"reading table {self.table.name}") from exc

    def watch(self) -> set[str]:
        """A set that every row key a checkpoint writes from now on joins (until
        :meth:`unwatch`): what a reader of a snapshot of the table must read again."""
        watched: set[str] = set()
        self._watchers.append(watched)
        return watched

    def unwatch(self, watched: set[str]) -> None:
        self._watchers.remove(watched)

    def put(self, key: str, event: EventT[bytes], value: V) -> None:
        """Keep ``value`` as the row's new state, written under ``event``'s partition."""
        self.rows[key] = (event, value)

    def hold(self, events: list[EventT[bytes]]) -> None:
        """Keep ``events`` unacknowledged until the next checkpoint has run."""
        if not self.held:
            self._opened_s = time.monotonic()
        for event in events:
            seam.hold(event)
        self.held += events

    def sent(self, acks: list[Awaitable[Any]]) -> None:
        self.outputs += acks

    def abandon(self) -> None:
        """Forget the rows and outputs of the steps since the last checkpoint (their held
        events stay held, to be released by the next :meth:`run`)."""
        self.rows.clear()
        self.outputs.clear()
        self.written_rows.clear()

    def forget_written(self) -> None:
        """Drop the rows the last checkpoint wrote (call on every rebalance: a table recovered
        from its changelog may hold newer rows than this worker wrote before it lost them)."""
        self.written_rows.clear()

    @property
    def due(self) -> bool:
        if not self.held and not self.rows:
            return False
        full = len(self.held) >= self.max_events
        return full or time.monotonic() - self._opened_s >= self.interval_s

    # -- the checkpoint ------------------------------------------------------------------------
    async def run(self) -> int:
        """Steps 1 to 3 (see the module's docstring), with ``after`` (a table chore that needs
        every row written) between 2 and 3; returns the number of rows written."""
        outputs, self.outputs = self.outputs, []
        if outputs:
            await asyncio.gather(*outputs)  # 1
        rows, self.rows = self.rows, {}
        for watched in self._watchers:
            watched.update(rows)  # before the store write below: no await in between
        # A row too large is a record's doing (see RowTooLarge): found before anything is written.
        dumped = [
            (event, key.encode(), dump_bounded(self.dump, key, value))
            for key, (event, value) in rows.items()
        ]
        await write(self.table, dumped)  # 2
        if self.keep_written:
            self.written_rows = rows
        if self.after is not None:
            await self.after()
        held, self.held = self.held, []
        for event in held:  # 3
            seam.release(event)
        self._opened_s = time.monotonic()
        self.written += len(rows)
        return len(rows)
