"""Redis live-view writer benchmark: the worker's CPU per row written, as in a backfill.

Queues ``--rows`` distinct counter rows (every unit of Registry.load(None), this year, month and
day, last year, then the days before: every row a different key, so nothing coalesces) into
one RedisView and flushes them into a redis-server of its own (no persistence, a free port, its
own prefix). Prints, for the queueing (``update_many``) and for the flush separately, the rows
a second (wall clock) and the microseconds of this process's CPU per row
(``time.process_time``: the redis-server's own CPU is not counted). ``--passes`` writes the
same keys again with new counters (the unit hashes are then already written). Then checks
every row's counters in Redis.

    .venv/bin/python -m bench.bench_redis_writer [--rows 100000] [--batch-size 2000]
        [--passes 2] [--profile] [--view-from FILE]

``--view-from`` loads RedisView from another copy of sinks/redis_view.py (to measure an older
writer in the same conditions); ``--profile`` prints the cProfile top of the last flush.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import pstats
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.bench_scrape import fake
from models.kpi import Counters
from models.periods import VN_TZ
from models.registry import Registry
from models.targets import Targets
from sinks.redis_schema import COUNTER_FIELDS
from sinks.unit_directory import UnitDirectory
from tests.streams.private_servers import PrivateRedis

ROOT = Path(__file__).resolve().parent.parent

Table = dict[tuple[str, str], Counters]


def country_table(registry: Registry, today: date, rows: int, seed: int) -> Table:
    """``rows`` distinct rows over every unit of the country."""
    rng = random.Random(seed)
    codes = sorted({u.code for u in registry.units()})
    count = -(-rows // len(codes))
    day = today.isoformat()
    periods = [day[:4], day[:7], day, str(today.year - 1)]
    periods += [(today - timedelta(days=n)).isoformat() for n in range(1, count)]
    keys = [(code, period) for code in codes for period in periods[:count]][:rows]
    return {key: fake(rng, 100_000 if len(key[1]) == 4 else 1_000) for key in keys}


def view_class(path: str | None) -> Any:
    if path is None:
        from sinks.redis_view import RedisView

        return RedisView
    spec = importlib.util.spec_from_file_location("redis_view_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.RedisView


async def mismatches(client: aioredis.Redis, prefix: str, table: Table) -> int:
    wrong = 0
    items = list(table.items())
    for start in range(0, len(items), 10_000):
        chunk = items[start : start + 10_000]
        pipe = client.pipeline(transaction=False)
        for (unit, period), _counters in chunk:
            pipe.hmget(f"{prefix}:v1:kpi:{unit}:{period}", list(COUNTER_FIELDS))
        for (_key, counters), got in zip(chunk, await pipe.execute(), strict=True):
            wrong += got != [str(getattr(counters, n)) for n in COUNTER_FIELDS]
    return wrong


async def bench(args: argparse.Namespace, directory: UnitDirectory, tables: list[Table]) -> None:
    view_cls = view_class(args.view_from)
    with tempfile.TemporaryDirectory(prefix="bench-redis-writer-") as scratch:
        server = PrivateRedis(Path(scratch))
        server.start()
        prefix = f"bench-writer-{uuid.uuid4().hex[:8]}"
        view = view_cls(server.url, prefix, directory, batch_size=args.batch_size)
        client = aioredis.Redis.from_url(server.url, decode_responses=True)
        try:
            await client.ping()
            for number, table in enumerate(tables, 1):
                rows = len(table)
                cpu0 = time.process_time()
                view.update_many((u, p, c) for (u, p), c in table.items())
                cpu1, wall1_s = time.process_time(), time.perf_counter()
                profiler = cProfile.Profile() if args.profile and number == len(tables) else None
                if profiler is not None:
                    profiler.enable()
                written = await view.flush()
                if profiler is not None:
                    profiler.disable()
                cpu2, wall2_s = time.process_time(), time.perf_counter()
                assert written == rows and view.pending == 0, (written, view.pending)
                print(
                    f"pass {number}: queue {rows:,} rows: {1e6 * (cpu1 - cpu0) / rows:.1f} µs CPU"
                    f"/row; flush: {rows / (wall2_s - wall1_s):,.0f} rows/s,"
                    f" {1e6 * (cpu2 - cpu1) / rows:.1f} µs CPU/row"
                    f" ({wall2_s - wall1_s:.2f}s wall, {cpu2 - cpu1:.2f}s CPU)"
                )
                if profiler is not None:
                    pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
            stats = await client.info("commandstats")
            script = stats.get("cmdstat_evalsha") or stats.get("cmdstat_exec") or {}
            if script:
                per_row = script["usec"] / (len(tables) * len(tables[0]))
                print(f"redis-server: {per_row:.1f} µs a row in the write command (its own CPU)")
            wrong = await mismatches(client, prefix, tables[-1])
            print(f"check: {len(tables[-1]) - wrong:,} of {len(tables[-1]):,} rows exact in Redis")
            await view.stop()
        finally:
            await client.aclose()
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="distinct rows a pass")
    parser.add_argument("--batch-size", type=int, default=2000, help="keys per flush batch")
    parser.add_argument("--passes", type=int, default=2, help="writes of the same keys")
    parser.add_argument("--profile", action="store_true", help="cProfile the last flush")
    parser.add_argument("--view-from", help="load RedisView from this file instead")
    args = parser.parse_args()
    registry = Registry.load(None)
    targets = Targets.load(ROOT / "deploy" / "targets", registry)
    today = datetime.now(UTC).astimezone(VN_TZ).date()
    tables = [country_table(registry, today, args.rows, seed) for seed in range(args.passes)]
    asyncio.run(bench(args, UnitDirectory(registry, targets), tables))


if __name__ == "__main__":
    main()
