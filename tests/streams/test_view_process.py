"""The live-view process (streams/view_process.py, streams/view_host.py) on a real Redis: rows
sent down the pipe are written, its figures come back, a stop writes what is pending, a Redis
that comes back empty is healed with the worker's owned rows, a killed process is started again
with every owned row, a drain answers once what was sent is written, discarded units are never
written, and the process ends with its worker.

Tests that stop Redis or empty it run their own redis-server on a free port."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from models.kpi import Counters
from sinks.redis_view import SinkObserver
from streams import view_pipe as pipe
from streams.hooks import ChangedRow
from streams.view_process import ViewProcess
from tests.conftest import ROOT
from tests.sinks.helpers import c, run, stored
from tests.streams.private_servers import PrivateRedis

pytestmark = pytest.mark.servers

BOUND_S = 15.0
PERIODS = ("2022", "2022-03", "2022-03-15")
UNITS_A = ("17", "148", "04789")
UNITS_B = ("150", "04795", "04798")
Table = dict[tuple[str, str], Counters]


class Observed(SinkObserver):
    def __init__(self) -> None:
        self.errors = 0
        self.flushed_keys = 0
        self.healed: list[int] = []

    def sink_error(self, sink: str) -> None:
        self.errors += 1

    def sink_flushed(self, sink: str, keys: int, seconds: float) -> None:
        self.flushed_keys += keys

    def sink_healed(self, sink: str, rows: int) -> None:
        self.healed.append(rows)


def config(url: str, prefix: str) -> dict[str, Any]:
    return {
        "url": url,
        "prefix": prefix,
        "provinces": ["17"],
        "targets_dir": str(ROOT / "deploy" / "targets"),
        "log_level": "warning",
    }


def table(units: tuple[str, ...], seed: int) -> Table:
    keys = [(unit, period) for unit in units for period in PERIODS]
    return {
        key: c(seed + n, n, (seed + n) * 1000, n * 500, dossiers=n) for n, key in enumerate(keys)
    }


def as_rows(rows: Table) -> list[ChangedRow]:
    """As the tally gives its listeners: (unit, period, the ten counter values)."""
    return [(unit, period, list(c.to_dict().values())) for (unit, period), c in rows.items()]


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline_s = time.monotonic() + BOUND_S
    while not await check():
        assert time.monotonic() < deadline_s, f"not within {BOUND_S} s: {what}"
        await asyncio.sleep(0.05)


def test_rows_are_written_and_the_figures_come_back(
    redis_server_url: str, redis_prefix: str
) -> None:
    rows = table(UNITS_A, 5)
    seen = Observed()

    async def go() -> int | None:
        view = ViewProcess(config(redis_server_url, redis_prefix), seen, lambda: as_rows(rows))
        await view.start()
        assert view.update_many(as_rows(rows)) == len(rows)

        async def written() -> bool:
            return await stored(redis_server_url, redis_prefix, rows) == rows

        await eventually(written, "the rows in Redis")
        rows[("148", "2022")] = c(999, 500, 10**9, 10**8)
        view.update_many(as_rows({("148", "2022"): rows[("148", "2022")]}))
        await eventually(written, "the newer value in Redis")

        async def settled() -> bool:
            return view.pending == 0 and seen.flushed_keys >= len(rows) + 1

        await eventually(settled, "no pending keys, the flushes reported")
        proc = view._proc
        await view.stop()
        return None if proc is None else proc.returncode

    assert run(go) == 0
    assert seen.errors == 0 and seen.healed == []


def test_a_stop_writes_what_is_pending(redis_server_url: str, redis_prefix: str) -> None:
    rows = table(UNITS_A + UNITS_B, 11)

    async def go() -> Table:
        view = ViewProcess(config(redis_server_url, redis_prefix), Observed(), lambda: [])
        await view.start()
        view.update_many(as_rows(rows))
        await view.stop(drain_timeout_s=5.0)  # at once: the rows are still pending
        return await stored(redis_server_url, redis_prefix, rows)

    assert run(go) == rows


def test_redis_coming_back_empty_is_healed_with_the_owned_rows_once_they_can_be_read(
    private_redis: PrivateRedis,
) -> None:
    url = private_redis.url
    rows = table(UNITS_A + UNITS_B, 3)
    ready = {"now": True}
    seen = Observed()

    async def go() -> None:
        view = ViewProcess(
            config(url, "heal"), seen, lambda: as_rows(rows) if ready["now"] else None
        )
        await view.start()
        view.update_many(as_rows(rows))

        async def written() -> bool:
            return await stored(url, "heal", rows) == rows

        await eventually(written, "the rows in Redis")
        ready["now"] = False  # the tables are in recovery: the heal waits
        admin = aioredis.Redis.from_url(url)
        await admin.flushall()
        await admin.aclose()
        await asyncio.sleep(3.0)  # three generation checks
        assert await stored(url, "heal", rows) == {} and seen.healed == []
        ready["now"] = True
        await eventually(written, "the healed rows in Redis")
        await view.stop()

    run(go)
    assert seen.healed == [len(rows)]


def test_a_killed_view_process_is_started_again_with_every_owned_row(
    redis_server_url: str, redis_prefix: str
) -> None:
    rows = table(UNITS_A, 7)
    seen = Observed()

    async def go() -> int:
        view = ViewProcess(config(redis_server_url, redis_prefix), seen, lambda: as_rows(rows))
        await view.start()
        view.update_many(as_rows(rows))

        async def written() -> bool:
            return await stored(redis_server_url, redis_prefix, rows) == rows

        await eventually(written, "the rows in Redis")
        pid = view.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        for key in rows:  # counted while the process is down: only a resend brings them
            rows[key] = c(rows[key].paid + 100, rows[key].paid_online + 1)

        async def restarted() -> bool:
            return view.pid not in (None, pid)

        await eventually(restarted, "a new view process")
        await eventually(written, "every owned row written again")
        await view.stop()
        return view.restarts

    assert run(go) == 1
    assert seen.errors >= 1


def test_a_drain_answers_once_every_row_sent_before_it_is_in_redis_and_false_while_redis_is_down(
    private_redis: PrivateRedis,
) -> None:
    """What a revocation waits for: the rows sent before the drain are in Redis when it
    answers True (no write of this worker can land after it); with Redis down it answers False
    within its budget, and the rows stay pending until Redis is back."""
    url = private_redis.url
    rows_a, rows_b = table(UNITS_A, 3), table(UNITS_B, 4)

    async def go() -> tuple[bool, Table, bool, float, Table]:
        view = ViewProcess(config(url, "drain"), Observed(), lambda: None)
        await view.start()
        view.update_many(as_rows(rows_a))
        drained = await view.drain(5.0)
        in_redis = await stored(url, "drain", rows_a)  # read at once: no waiting here
        await asyncio.to_thread(private_redis.kill)
        view.update_many(as_rows(rows_b))
        started_s = time.monotonic()
        drained_down = await view.drain(1.0)
        took_s = time.monotonic() - started_s
        await asyncio.to_thread(private_redis.start)

        async def written() -> bool:
            return await stored(url, "drain", rows_b) == rows_b

        await eventually(written, "the rows pending while Redis was down")
        await view.stop()
        return drained, in_redis, drained_down, took_s, await stored(url, "drain", rows_b)

    drained, in_redis, drained_down, took_s, later = run(go)
    assert drained and in_redis == rows_a
    assert not drained_down and took_s < 1.0 + 1.5
    assert later == rows_b


def test_discarded_units_are_never_written(private_redis: PrivateRedis) -> None:
    url = private_redis.url
    rows_a, rows_b = table(UNITS_A, 1), table(UNITS_B, 2)

    async def go() -> tuple[Table, Table]:
        view = ViewProcess(config(url, "gone"), Observed(), lambda: None)
        await view.start()
        await asyncio.to_thread(private_redis.kill)
        view.update_many(as_rows(rows_a | rows_b))
        view.discard(UNITS_A)  # their partitions went to another worker
        await asyncio.sleep(0.5)
        await asyncio.to_thread(private_redis.start)

        async def written() -> bool:
            return await stored(url, "gone", rows_b) == rows_b

        await eventually(written, "the kept units' rows")
        await view.stop()
        return await stored(url, "gone", rows_a), await stored(url, "gone", rows_b)

    got_a, got_b = run(go)
    assert got_a == {} and got_b == rows_b


def test_the_process_ends_with_its_worker(redis_server_url: str, redis_prefix: str) -> None:
    """The end of its input (the worker killed) ends it, without waiting to flush."""

    async def go() -> int:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streams.view_host", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write(pipe.frame(pipe.CONFIG, config(redis_server_url, redis_prefix)))
        proc.stdin.write(pipe.frame(pipe.ROWS, as_rows(table(UNITS_A, 1))))
        await proc.stdin.drain()
        proc.stdin.close()
        return await asyncio.wait_for(proc.wait(), 10)

    assert run(go) == 0
