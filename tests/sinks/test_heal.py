"""The live view heals: Redis comes back empty while the views run, every owned row returns.

Each test runs its own redis-server without persistence on a free port and kills it, so it
comes back empty the way a restart without persistence or a failover to an empty replica
does; the shared Redis of the other tests is never stopped.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
import redis.asyncio as aioredis

from models.kpi import Counters
from sinks.backoff import Backoff
from sinks.redis_schema import GENERATION_FIELD
from sinks.redis_view import OwnedRows, RedisView, Row
from sinks.unit_directory import UnitDirectory
from tests.sinks.helpers import NOW, c, dump, run
from tests.sinks.helpers import stored as stored_counters
from tests.streams.private_servers import PrivateRedis

pytestmark = pytest.mark.servers

HEAL_BOUND_S = 10.0
PERIODS = ("2022", "2022-03", "2022-03-15")
#: Two workers on one prefix, each owning different units (as two partitions would).
UNITS_A = ("17", "148", "04789", "04792")
UNITS_B = ("150", "04795", "04798")

Table = dict[tuple[str, str], Counters]


def table(units: tuple[str, ...], seed: int) -> Table:
    keys = [(unit, period) for unit in units for period in PERIODS]
    return {
        key: c(seed + n, n, (seed + n) * 1000, n * 500, dossiers=n) for n, key in enumerate(keys)
    }


def as_rows(rows: Table) -> list[Row]:
    return [(unit, period, counters) for (unit, period), counters in rows.items()]


def view(
    url: str,
    directory: UnitDirectory,
    owned: OwnedRows,
    prefix: str = "heal",
    batch_size: int = 2000,
) -> RedisView:
    return RedisView(
        url,
        prefix,
        directory,
        flush_interval_s=0.1,
        batch_size=batch_size,
        socket_timeout_s=1.0,
        backoff=Backoff(base_s=0.1, cap_s=1.0),
        owned=owned,
        clock=lambda: NOW,
    )


async def stored(url: str, rows: Table, prefix: str = "heal") -> Table:
    """The counters Redis holds for the keys of ``rows`` (rows it lacks are left out)."""
    return await stored_counters(url, prefix, rows)


async def wait_until_stored(url: str, rows: Table, bound_s: float) -> float:
    """Seconds until Redis holds exactly ``rows``; fails after ``bound_s``."""
    started_s = time.monotonic()
    while (got := await stored(url, rows)) != rows:
        elapsed_s = time.monotonic() - started_s
        assert elapsed_s < bound_s, f"{len(rows) - len(got)} of {len(rows)} rows missing"
        await asyncio.sleep(0.05)
    return time.monotonic() - started_s


def reference_dump(url: str, directory: UnitDirectory, *tables: Table) -> dict[str, object]:
    """What a fresh full write of ``tables`` gives, under the prefix the views use."""

    async def go() -> None:
        fresh = view(url, directory, lambda: [], prefix="reference")
        for rows in tables:
            fresh.update_many(as_rows(rows))
        await fresh.flush()
        await fresh.stop()

    run(go)
    return {
        key.replace("reference:", "heal:", 1): value
        for key, value in dump(url, "reference").items()
    }


def test_two_views_on_one_prefix_rewrite_every_owned_row_after_redis_comes_back_empty(
    private_redis: PrivateRedis, directory: UnitDirectory
) -> None:
    url = private_redis.url
    rows_a, rows_b = table(UNITS_A, 10), table(UNITS_B, 50)

    async def go() -> tuple[float, RedisView, RedisView]:
        a = view(url, directory, lambda: as_rows(rows_a))
        b = view(url, directory, lambda: as_rows(rows_b))
        a.update_many(as_rows(rows_a))  # what the worker does after an assignment
        b.update_many(as_rows(rows_b))
        await a.start()
        await b.start()
        assert await a.wait_idle(10) and await b.wait_idle(10)
        assert await stored(url, rows_a | rows_b) == rows_a | rows_b
        first = a.generation
        assert first is not None and first == b.generation
        await asyncio.to_thread(private_redis.kill)
        for key in list(rows_a)[:3]:  # the stream keeps counting while Redis is away
            rows_a[key] = c(rows_a[key].paid + 7, rows_a[key].paid_online + 1)
            a.update(*key, rows_a[key])
        await asyncio.sleep(1.5)
        await asyncio.to_thread(private_redis.start)
        healed_s = await wait_until_stored(url, rows_a | rows_b, HEAL_BOUND_S)
        assert await a.wait_idle(10) and await b.wait_idle(10)
        assert a.generation == b.generation != first
        await a.stop()
        await b.stop()
        return healed_s, a, b

    healed_s, a, b = run(go)
    assert healed_s < HEAL_BOUND_S
    assert (a.heals, b.heals) == (1, 1)  # each worker rewrote its own rows, once
    after = dump(url, "heal")
    assert after == reference_dump(url, directory, rows_a, rows_b)  # units, ranks, periods too
    client = redis.Redis.from_url(url, decode_responses=True)
    meta = client.hgetall("heal:v1:meta")
    client.close()
    assert meta == {
        "schema_version": "1",
        "last_flush": "2022-03-15T03:00:00.000Z",
        GENERATION_FIELD: a.generation,
    }


def test_flushall_is_healed_too_and_waits_while_owned_rows_are_not_ready(
    private_redis: PrivateRedis, directory: UnitDirectory
) -> None:
    """No reconnect at all (FLUSHALL on a live server), and ``owned`` answering None (tables in
    recovery) holds the heal back until the rows can be read."""
    url = private_redis.url
    rows = table(UNITS_A + UNITS_B, 3)
    ready = {"now": True}

    async def go() -> RedisView:
        v = view(url, directory, lambda: as_rows(rows) if ready["now"] else None)
        v.update_many(as_rows(rows))
        await v.start()
        assert await v.wait_idle(10)
        ready["now"] = False
        admin = aioredis.Redis.from_url(url)
        await admin.flushall()
        await admin.aclose()
        await asyncio.sleep(3 * v.heal_check_s)
        assert v.heals == 0 and await stored(url, rows) == {}
        ready["now"] = True
        await wait_until_stored(url, rows, HEAL_BOUND_S)
        await v.stop()
        return v

    v = run(go)
    assert v.heals == 1 and v.errors == 0


def test_the_heal_writes_this_year_month_and_day_first(
    private_redis: PrivateRedis, directory: UnitDirectory
) -> None:
    """The rows dashboards show come back first: after one batch of the heal only they are."""
    url = private_redis.url
    units = UNITS_A + UNITS_B
    old = {(u, p): c(1, 1) for u in units for p in ("2022-01", "2022-01-10", "2022-02-28")}
    current = table(units, 20)  # 2022, 2022-03, 2022-03-15: the NOW of these tests
    rows = old | current  # the old rows come first in the table

    async def go() -> tuple[Table, Table, int]:
        v = view(url, directory, lambda: as_rows(rows), batch_size=len(current))
        v.update_many(as_rows(rows))
        await v.flush()
        admin = aioredis.Redis.from_url(url)
        await admin.flushall()
        await admin.aclose()
        await v.check_generation()
        heals = v.heals
        await v.stop()  # its last flush writes a single batch
        return await stored(url, current), await stored(url, old), heals

    got_current, got_old, heals = run(go)
    assert heals == 1
    assert got_current == current and got_old == {}
