"""Heal benchmark: Redis comes back empty under a whole-country worker; how long until the live
view is whole again.

Builds ~240,000 counter rows (``--rows``) over every unit of Registry.load(None) (~10,600
communes, 705 districts, 63 provinces and the departments): this year, month and day, last
year, then the days before today. Writes them through one RedisView into a redis-server of its
own (no persistence, a free port, its own prefix), then kills that server and starts it again
empty while the stream keeps updating today's rows (``--rate`` a second). Prints the time from
the restart until the view notices, until this year/month/day of every unit is back, until
every row is back, the longest stall of the event loop, and then checks every row in Redis.

    .venv/bin/python -m bench.bench_heal [--rows 240000] [--rate 200] [--batch-size 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis

from bench.bench_scrape import fake
from models.kpi import Counters
from models.periods import VN_TZ
from models.registry import Registry
from models.targets import Targets
from sinks.redis_schema import COUNTER_FIELDS
from sinks.redis_view import RedisView, Row, SinkObserver
from sinks.unit_directory import UnitDirectory
from tests.streams.private_servers import PrivateRedis

ROOT = Path(__file__).resolve().parent.parent

Key = tuple[str, str]
Table = dict[Key, Counters]


@dataclass
class HealClock(SinkObserver):
    """What the view reports: when it read its owned rows, when it had queued them all, and
    when each flush batch ended (monotonic seconds)."""

    owned_at_s: float = 0.0
    healed_at_s: float = 0.0
    rows: int = 0
    batches: list[tuple[float, float]] = field(default_factory=list)  # (ended at, took)

    def sink_healed(self, sink: str, rows: int) -> None:
        self.healed_at_s = time.monotonic()
        self.rows = rows

    def sink_flushed(self, sink: str, keys: int, seconds: float) -> None:
        self.batches.append((time.monotonic(), seconds))


@dataclass
class Figures:
    restarted_s: float = 0.0
    noticed_s: float = 0.0
    current_s: float = 0.0
    done_s: float = 0.0
    stalls_s: list[float] = field(default_factory=list)


def current_periods(today: date) -> tuple[str, str, str]:
    day = today.isoformat()
    return day[:4], day[:7], day


def periods_of(today: date, count: int) -> list[str]:
    """``count`` periods of one unit: this year, month and day, last year, the days before."""
    periods = [*current_periods(today), str(today.year - 1)]
    back = 1
    while len(periods) < count:
        periods.append((today - timedelta(days=back)).isoformat())
        back += 1
    return periods[:count]


def country_table(registry: Registry, today: date, rows: int) -> Table:
    """``rows`` rows over every unit of the country, the same periods for each unit."""
    rng = random.Random(5)
    codes = sorted({u.code for u in registry.units()})
    periods = periods_of(today, -(-rows // len(codes)))
    keys = [(code, period) for code in codes for period in periods][:rows]
    return {key: fake(rng, 100_000 if len(key[1]) == 4 else 1_000) for key in keys}


def sentinels(table: Table, today: date) -> tuple[Key, Key]:
    """The last row the heal queues of this year/month/day, and its last row of all. The
    pending map is written in order, batch by batch, so once one of them is in Redis every row
    queued before it is too."""
    current = set(current_periods(today))
    first = [key for key in table if key[1] in current]
    later = [key for key in table if key[1] not in current]
    return first[-1], (later or first)[-1]


async def trickle(view: RedisView, table: Table, keys: list[Key], rate: float) -> None:
    """The stream keeps counting: ``rate`` row updates a second."""
    rng = random.Random(11)
    while True:
        key = rng.choice(keys)
        old = table[key]
        table[key] = replace(old, paid=old.paid + 1, paid_amount=old.paid_amount + 50_000)
        view.update(*key, table[key])
        await asyncio.sleep(1 / rate)


async def loop_stalls(stalls_s: list[float], tick_s: float = 0.01) -> None:
    """How late a short sleep wakes up: the event loop was blocked that long."""
    while True:
        started_s = time.monotonic()
        await asyncio.sleep(tick_s)
        stalls_s.append(time.monotonic() - started_s - tick_s)


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout_s: float) -> float:
    """Monotonic time at which ``condition()`` first held (polled every 10 ms)."""
    deadline_s = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline_s:
            raise SystemExit(f"gave up after {timeout_s:.0f}s")
        await asyncio.sleep(0.01)
    return time.monotonic()


@dataclass
class Run:
    server: PrivateRedis
    view: RedisView
    client: aioredis.Redis
    table: Table
    today: date
    clock: HealClock
    figures: Figures = field(default_factory=Figures)

    def kpi_key(self, key: Key) -> str:
        return self.view.keys.kpi(*key)

    async def first_write(self) -> None:
        """What a worker does after an assignment: every owned row, through the pending map."""
        started_s = time.monotonic()
        self.view.update_many((unit, period, c) for (unit, period), c in self.table.items())
        await self.view.start()
        assert await self.view.wait_idle(1800), "the first full write did not finish"
        took_s = time.monotonic() - started_s
        rows = len(self.table)
        print(f"first full write: {rows:,} rows in {took_s:.1f}s ({rows / took_s:,.0f} rows/s)")

    async def restart_and_heal(self, rate: float) -> None:
        current, last = sentinels(self.table, self.today)
        today = self.today.isoformat()
        hot = [k for k in self.table if k[1] == today and k not in (current, last)]
        figures = self.figures
        tasks = [
            asyncio.create_task(trickle(self.view, self.table, hot, rate)),
            asyncio.create_task(loop_stalls(figures.stalls_s)),
        ]
        await asyncio.sleep(2)  # steady state: the trickle flows, the generation is known
        figures.stalls_s.clear()
        down_s = time.monotonic()
        self.server.kill()
        self.server.start()
        figures.restarted_s = time.monotonic()
        print(f"redis-server killed, started again empty: down {figures.restarted_s - down_s:.2f}s")
        figures.noticed_s = await wait_for(self._healed, 60)
        figures.current_s = await wait_for(lambda: self._written(current), 1800)
        figures.done_s = await wait_for(lambda: self._written(last), 1800)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert await self.view.wait_idle(60), "the last updates were not written"

    async def _healed(self) -> bool:
        return self.view.heals > 0

    async def _written(self, key: Key) -> bool:
        return bool(await self.client.exists(self.kpi_key(key)))

    async def mismatches(self) -> int:
        """Rows whose counters in Redis differ from the table (or are missing)."""
        wrong = 0
        items = list(self.table.items())
        for start in range(0, len(items), 10_000):
            chunk = items[start : start + 10_000]
            pipe = self.client.pipeline(transaction=False)
            for key, _counters in chunk:
                pipe.hmget(self.kpi_key(key), list(COUNTER_FIELDS))
            for (_key, counters), got in zip(chunk, await pipe.execute(), strict=True):
                wrong += got != [str(getattr(counters, n)) for n in COUNTER_FIELDS]
        return wrong

    def report(self) -> None:
        f, clock = self.figures, self.clock
        batches_s = sorted(s for at, s in clock.batches if f.restarted_s < at <= f.done_s)
        queue_s = clock.healed_at_s - clock.owned_at_s
        rate = clock.rows / (f.done_s - clock.healed_at_s)
        print(
            "noticed (new generation seen): "
            f"{clock.owned_at_s - f.restarted_s:.2f}s after the restart"
        )
        print(f"reading and queueing {clock.rows:,} owned rows held the loop {queue_s:.2f}s")
        print(f"this year, month and day of every unit back: {f.current_s - f.restarted_s:.1f}s")
        print(f"every owned row back: {f.done_s - f.restarted_s:.1f}s ({rate:,.0f} rows/s)")
        print(
            f"flush batches: {len(batches_s)}, median {1000 * batches_s[len(batches_s) // 2]:.0f}"
            f" ms, max {1000 * batches_s[-1]:.0f} ms; longest event-loop stall"
            f" {1000 * max(f.stalls_s):.0f} ms"
        )
        print(f"failed flushes around the restart: {self.view.errors}, heals: {self.view.heals}")


async def bench(args: argparse.Namespace, directory: UnitDirectory, table: Table) -> None:
    today = datetime.now(UTC).astimezone(VN_TZ).date()
    clock = HealClock()

    def owned() -> list[Row]:
        clock.owned_at_s = time.monotonic()
        return [(unit, period, counters) for (unit, period), counters in table.items()]

    with tempfile.TemporaryDirectory(prefix="bench-heal-") as scratch:
        server = PrivateRedis(Path(scratch))
        server.start()
        prefix = f"bench-heal-{uuid.uuid4().hex[:8]}"
        view = RedisView(
            server.url,
            prefix,
            directory,
            batch_size=args.batch_size,
            observer=clock,
            owned=owned,
        )
        client = aioredis.Redis.from_url(server.url, decode_responses=True)
        run = Run(server, view, client, table, today, clock)
        try:
            await run.first_write()
            await run.restart_and_heal(args.rate)
            await view.stop()
            run.report()
            wrong = await run.mismatches()
            print(f"check: {len(table) - wrong:,} of {len(table):,} rows exact in Redis")
        finally:
            await client.aclose()
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=240_000, help="owned counter rows")
    parser.add_argument("--rate", type=float, default=200.0, help="stream updates a second")
    parser.add_argument("--batch-size", type=int, default=2000, help="keys per flush batch")
    args = parser.parse_args()
    started_s = time.perf_counter()
    registry = Registry.load(None)
    targets = Targets.load(ROOT / "deploy" / "targets", registry)
    today = datetime.now(UTC).astimezone(VN_TZ).date()
    table = country_table(registry, today, args.rows)
    directory = UnitDirectory(registry, targets)
    print(f"setup: {len(table):,} counter rows, {time.perf_counter() - started_s:.2f}s")
    asyncio.run(bench(args, directory, table))


if __name__ == "__main__":
    main()
