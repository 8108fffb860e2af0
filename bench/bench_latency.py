"""Benchmark: latency from produce to the Redis live view at a steady rate.

Starts one `paywatch worker` (or ``--workers N`` sharing the partitions, scaled out as
docs/operations.md says) with its sinks on fresh topics, produces clean simulator payments
(no duplicates, reversals or bad records) at a steady rate, and listens to the live view's
change channel. An event is "visible" when the `paid` count of its (commune, day) in Redis first
reaches the number of events sent for that key up to and including it. Prints p50/p90/p99 and
the maximum, after a warm-up.

    .venv/bin/python -m bench.bench_latency --rate 1000 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import defaultdict, deque
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from bench.private_worker import REDIS_URL, removed_at_exit
from models.event_decode import decode_event
from models.periods import period_keys
from models.registry import Registry
from sinks.redis_schema import Keys
from streams.settings import Settings
from streams.simulator import SimConfig, generate
from tests.ports import free_port
from tests.streams.stream_harness import Worker, create_topics

CLEAN: dict[str, Any] = {
    name: 0.0
    for name in (
        "duplicate_rate",
        "reversal_rate",
        "malformed_rate",
        "conflict_rate",
        "unknown_unit_rate",
        "already_reversed_rate",
        "invalid_reversal_rate",
        "late_share",
    )
}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(
    settings: Settings, records: list[tuple[bytes, bytes]], rate: float, warmup_s: float
) -> dict[str, Any]:
    keys = Keys(settings.redis_prefix)
    client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.changes)
    pending: dict[tuple[str, str], deque[tuple[int, float]]] = defaultdict(deque)
    sent: dict[tuple[str, str], int] = defaultdict(int)
    latencies: list[tuple[float, float]] = []  # (send time, latency)
    done = asyncio.Event()

    async def listen() -> None:
        while not done.is_set() or any(pending.values()):
            message = await pubsub.get_message(timeout=0.5)
            if not message:
                if done.is_set() and time.monotonic() > listen_deadline_s:
                    return
                continue
            data = json.loads(message["data"])
            key = (data["unit"], data["period"])
            waiting = pending.get(key)
            if not waiting:
                continue
            paid = int(await client.hget(keys.kpi(*key), "paid") or 0)
            now_s = time.monotonic()
            while waiting and waiting[0][0] <= paid:
                _, at = waiting.popleft()
                latencies.append((at, now_s - at))

    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=2, acks=1)
    await producer.start()
    listen_deadline_s = float("inf")
    listener = asyncio.create_task(listen())
    started_s = time.monotonic()
    try:
        for i, (key, value) in enumerate(records):
            due_s = started_s + i / rate
            delay_s = due_s - time.monotonic()
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            event = decode_event(value)
            target = (event.unit_code, period_keys(event.event_time)[0])
            sent[target] += 1
            pending[target].append((sent[target], time.monotonic()))
            await producer.send(settings.topic("payments"), value, key=key)
        await producer.flush()
        listen_deadline_s = time.monotonic() + 30
        done.set()
        await listener
    finally:
        await producer.stop()
        await pubsub.aclose()
        await client.aclose()
    measured = [lat for at, lat in latencies if at - started_s >= warmup_s]
    lost = sum(len(q) for q in pending.values())
    return {
        "events": len(records),
        "rate_target": rate,
        "rate_achieved": len(records) / (time.monotonic() - started_s),
        "measured": len(measured),
        "not_visible_after_30s": lost,
        "p50_s": _percentile(measured, 0.50),
        "p90_s": _percentile(measured, 0.90),
        "p99_s": _percentile(measured, 0.99),
        "max_s": max(measured),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup-s", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="workers sharing the partitions")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    unique = uuid.uuid4().hex[:8]
    registry = Registry.load({"17"})
    count = int(args.rate * args.seconds)
    config = replace(
        SimConfig(count=count, seed=13, start=date(2022, 3, 1), end=date(2022, 3, 31)), **CLEAN
    )
    records = [(r.key or b"", r.value) for r in generate(config, registry)]
    settings = Settings(
        app_id=f"bench-lat-{unique}",
        broker=f"kafka://{args.bootstrap}",
        topic_prefix=f"lat{unique}.",
        redis_url=args.redis,
        redis_prefix=f"bench-lat-{unique}",
        data_dir=Path(f"/tmp/paywatch-bench-lat-{unique}"),
        web_port=free_port(),
        processing_guarantee="at_least_once",
    )
    create_topics(removed_at_exit(settings))
    workers = [
        Worker(
            removed_at_exit(
                settings.model_copy(
                    update={"data_dir": Path(f"{settings.data_dir}-{n}"), "web_port": free_port()}
                )
            )
            if n
            else settings,
            Path(f"/tmp/paywatch-bench-lat-{unique}-{n}.log"),
        ).start()
        for n in range(args.workers)
    ]
    try:
        # join the group, settle the rebalance, recover (empty) tables before the clock starts
        time.sleep(15 + 10 * (args.workers - 1))
        figures = asyncio.run(run(settings, records, args.rate, args.warmup_s))
    finally:
        for worker in workers:
            worker.stop()
    print(
        f"{args.workers} worker{'s' if args.workers > 1 else ''}: "
        f"produce -> Redis at {figures['rate_achieved']:,.0f} events/s "
        f"({figures['measured']:,} events measured): "
        f"p50 {figures['p50_s'] * 1000:.0f} ms, p90 {figures['p90_s'] * 1000:.0f} ms, "
        f"p99 {figures['p99_s'] * 1000:.0f} ms, max {figures['max_s'] * 1000:.0f} ms; "
        f"not visible after 30 s: {figures['not_visible_after_30s']}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
