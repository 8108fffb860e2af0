"""After each rebalance (once the tables are recovered) every owned counter row is pushed to the
Redis live view again, and the metrics' current rows and the event clock are rebuilt from it, in
chunks while the stages count: absolute writes, so this is harmless, and it heals a Redis that
lost data."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from datetime import date

from streams import counters as rows
from streams.app import Pipeline
from streams.current_rows import CurrentRows
from streams.view_process import ViewProcess

log = logging.getLogger(__name__)

PAID, REVERSED = rows.INDEX["paid"], rows.INDEX["reversed"]

#: Counter rows read back per chunk after a rebalance (the stages run between chunks).
READ_BACK_CHUNK = 2000
#: After a chunk that took *t*, the read-back waits *t* before the next: it takes at most half
#: of the worker's thread. Given every turn of the event loop instead, it took nearly all of
#: it, and a worker restarted after kill -9 wrote its first checkpoint only once a million
#: rows were read back (13.2 s after the kill in the slow state of this machine).
READ_BACK_PACE = 1.0


class ReadBack:
    """The read-back task of one worker: started when a rebalance is complete, cancelled when
    partitions are revoked (the next one reads what this worker owns then) and at shutdown."""

    def __init__(self, pipeline: Pipeline, redis: ViewProcess, current: CurrentRows) -> None:
        self.pipeline = pipeline
        self.redis = redis
        self.current = current
        self._read_back_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.stop()
        self._read_back_task = asyncio.create_task(self._read_back())

    def stop(self) -> None:
        if self._read_back_task is not None:
            self._read_back_task.cancel()
            self._read_back_task = None

    async def _read_back(self) -> None:
        """Every owned counter row into the live view, the metrics' cache and the clock, a chunk
        at a time while the stages count, paced (:data:`READ_BACK_PACE`; a million rows take
        seconds, and counting waited for them after every restart and rebalance). A row is read
        and queued within one chunk, without an await between: the value queued is the row's
        latest, so a newer one can only come after it. The table's iterator reads a snapshot,
        so rows that a checkpoint wrote since it began, and rows pending in the checkpoint, are
        read through the checkpoint instead."""
        started_s = time.monotonic()
        ck = self.pipeline.tally_ck
        watched = ck.watch()
        by_day: dict[date, int] = {}
        count = kept = 0
        try:
            table_rows = iter(self.pipeline.counters.items())
            while True:
                chunk_started_s = time.monotonic()
                chunk = []
                month, day = self.current.window_now()
                for key, stored in itertools.islice(table_rows, READ_BACK_CHUNK):
                    name = key.decode() if isinstance(key, bytes) else str(key)
                    value = ck.get(name) if name in watched or name in ck.rows else stored
                    row = value if isinstance(value, rows.Row) else rows.load(value)
                    unit, period = rows.split_key(name)
                    chunk.append((unit, period, row.values))
                    if self.current.keep(period, month, day) and (
                        (unit, period) not in self.current.cache
                    ):
                        self.current.cache[(unit, period)] = tuple(row.values)
                        kept += 1
                    if len(period) == rows.DAY_SIZE:
                        when = date.fromisoformat(period)
                        by_day[when] = by_day.get(when, 0) + row.values[PAID] + row.values[REVERSED]
                if not chunk:
                    break
                self.redis.update_many(chunk)
                count += len(chunk)
                await asyncio.sleep(READ_BACK_PACE * (time.monotonic() - chunk_started_s))
        finally:
            ck.unwatch(watched)
        self.current.clock.seed(by_day)
        self.current.clock_seeded()
        log.info(
            "read back %d counter rows in %.1f s while counting; %d kept for metrics",
            count,
            time.monotonic() - started_s,
            kept,
        )
