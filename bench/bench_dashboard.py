"""Benchmark: the dashboard under load — many pages open on one server process while a worker
counts a steady stream.

Starts a private worker and one `paywatch dashboard` process (reading Redis as a user with the
dashboard's ACL rules), opens ``--clients`` Server-Sent Event streams of the province overview
(the view every event changes), produces clean simulator payments at ``--rate`` events/s, and
measures for every batch each client receives the time from the Redis write of the oldest
change it answers (the change stream id is Redis's clock at XADD) to its arrival at the client.
Prints p50/p99/max of that latency after a warm-up, and the server's CPU (share of one core)
and resident memory.

    .venv/bin/python -m bench.bench_dashboard --clients 200 --rate 1000 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from bench.bench_latency import CLEAN, _percentile
from bench.private_worker import REDIS_URL, private_worker
from bench.process_figures import process_cpu_s, rss_mib
from models.registry import Registry
from streams.settings import Settings
from streams.simulator import SimConfig, generate
from tests.dashboard.dashboard_harness import Dashboard, DashboardUser, dashboard_env
from tests.ports import free_port


async def client(url: str, latencies: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """One page's event stream: (arrival time, latency) of each batch it receives."""
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
        event, data = "", ""
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif not line and event == "rows":
                oldest = json.loads(data).get("oldest", "")
                written_ms = int(oldest.partition("-")[0] or 0)
                now_s = time.time()
                latencies.append((now_s, now_s - written_ms / 1000))
                event = ""
            elif not line:
                event = ""
            if stop.is_set():
                break


async def run(args: argparse.Namespace, settings: Settings, dashboard: Dashboard) -> dict[str, Any]:
    registry = Registry.load({"17"})
    count = int(args.rate * args.seconds)
    config = replace(
        SimConfig(count=count, seed=17, start=date(2022, 3, 1), end=date(2022, 3, 31)), **CLEAN
    )
    records = [(r.key or b"", r.value) for r in generate(config, registry)]
    health = dashboard.health() or {}
    url = f"{dashboard.url}/api/events/children/17/2022?since={health.get('cursor', '')}"
    latencies: list[tuple[float, float]] = []
    stop = asyncio.Event()
    clients = [asyncio.create_task(client(url, latencies, stop)) for _ in range(args.clients)]
    await asyncio.sleep(2)  # connected
    assert dashboard.proc is not None
    pid = dashboard.proc.pid
    cpu_before, rss_max = process_cpu_s(pid), 0.0
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=2, acks=1)
    await producer.start()
    started_s = time.monotonic()
    wall_started_s = time.time()
    try:
        for i, (key, value) in enumerate(records):
            delay_s = started_s + i / args.rate - time.monotonic()
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            if i % 1000 == 0:
                rss_max = max(rss_max, rss_mib(pid) or 0.0)
            await producer.send(settings.topic("payments"), value, key=key)
        await producer.flush()
    finally:
        await producer.stop()
    elapsed_s = time.monotonic() - started_s
    cpu = (process_cpu_s(pid) - cpu_before) / elapsed_s
    await asyncio.sleep(5)  # the last batches
    stop.set()
    for task in clients:
        task.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    measured = [lat for at, lat in latencies if at - wall_started_s >= args.warmup_s]
    return {
        "clients": args.clients,
        "rate_target": args.rate,
        "rate_achieved": len(records) / elapsed_s,
        "batches_per_client": len(latencies) / args.clients,  # the tasks end cancelled
        "measured": len(measured),
        "p50_s": _percentile(measured, 0.50) if measured else None,
        "p99_s": _percentile(measured, 0.99) if measured else None,
        "max_s": max(measured) if measured else None,
        "server_cpu_share_of_a_core": cpu,
        "server_rss_max_mib": max(rss_max, rss_mib(pid) or 0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup-s", type=float, default=5.0)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    settings, worker = private_worker("dash", args.bootstrap, redis_url=args.redis)
    user = DashboardUser(args.redis, settings.redis_prefix)
    env = dashboard_env(settings, user.url, stale_s=60)
    log = Path(f"/tmp/paywatch-bench-dash-{settings.redis_prefix}.log")
    dashboard = Dashboard(env, free_port(), log)
    try:
        time.sleep(15)  # the worker joins its group and recovers its (empty) tables
        dashboard.start()
        figures = asyncio.run(run(args, settings, dashboard))
    finally:
        dashboard.stop()
        worker.stop()
        user.drop()
    p99 = figures["p99_s"]
    print(
        f"{figures['clients']} pages on one dashboard process, {figures['rate_achieved']:,.0f} "
        f"events/s: Redis write -> page p50 {figures['p50_s'] * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {figures['max_s'] * 1000:.0f} ms "
        f"({figures['measured']:,} batches measured, {figures['batches_per_client']:.0f} a page); "
        f"server CPU {figures['server_cpu_share_of_a_core'] * 100:.0f}% of a core, "
        f"RSS {figures['server_rss_max_mib']:.0f} MiB"
        if p99 is not None
        else f"no batch measured: {figures}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
