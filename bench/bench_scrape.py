"""Scrape benchmark: the whole country's units on one worker, real HTTP scrapes of /metrics.

Builds counters for every unit of Registry.load(None) (~10,600 communes, 705 districts,
63 provinces and the departments) for the current year, month and day and the previous year,
serves them with sinks.metrics.serve and times real HTTP GETs. Goal: < 250 ms per scrape.

    .venv/bin/python -m bench.bench_scrape [--scrapes 20] [--slow]

``--slow`` also times prometheus_client's generic generate_latest on the same registry.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from models.kpi import Counters
from models.periods import VN_TZ
from models.registry import Registry
from models.targets import Targets
from sinks.metrics import register, serve
from sinks.unit_directory import UnitDirectory

ROOT = Path(__file__).resolve().parent.parent


def fake(rng: random.Random, scale: int) -> Counters:
    paid = rng.randint(0, scale)
    online = rng.randint(0, paid)
    rev = rng.randint(0, paid // 20)
    dossiers = rng.randint(0, paid)
    return Counters(
        paid=paid,
        paid_online=online,
        paid_amount=paid * 50_000,
        paid_online_amount=online * 50_000,
        reversed=rev,
        reversed_online=min(rev, online),
        reversed_amount=rev * 50_000,
        reversed_online_amount=min(rev, online) * 50_000,
        dossiers=dossiers,
        dossiers_online=rng.randint(0, dossiers),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--slow", action="store_true", help="also time generate_latest")
    args = parser.parse_args()

    t0_s = time.perf_counter()
    registry = Registry.load(None)
    targets = Targets.load(ROOT / "deploy" / "targets", registry)
    now = datetime.now(UTC)
    today = now.astimezone(VN_TZ).date()
    day = today.isoformat()
    periods = [(day[:4], 100_000), (day[:7], 10_000), (day, 500), (str(today.year - 1), 100_000)]
    rng = random.Random(5)
    codes = sorted({u.code for u in registry.units()})
    rows = [(code, period, fake(rng, scale)) for code in codes for period, scale in periods]
    directory = UnitDirectory(registry, targets)
    prom = CollectorRegistry()
    register(prom, lambda: rows, directory, clock=lambda: now)
    print(f"setup: {len(codes)} units, {len(rows)} counter rows, {time.perf_counter() - t0_s:.2f}s")

    server = serve(prom)
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    try:
        size, series = scrape_stats(url)
        print(f"scrape: {size:,} bytes ({size / 2**20:.1f} MiB), {series:,} series")
        report("unchanged units (steady state)", [curl(url) for _ in range(args.scrapes)])
        changed: list[float] = []
        for _ in range(args.scrapes):
            # every unit changes between scrapes: the worst case (a whole-country replay)
            rows[:] = [(code, period, fake(rng, 1000)) for code, period, _c in rows]
            changed.append(curl(url))
        report("every unit changed (worst case)", changed)
    finally:
        server.shutdown()
    if args.slow:
        start_s = time.perf_counter()
        generate_latest(prom)
        print(f"generic generate_latest: {1000 * (time.perf_counter() - start_s):.0f} ms")


def curl(url: str) -> float:
    """One real HTTP scrape by a separate client process; seconds (curl's time_total)."""
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{time_total}", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout)


def scrape_stats(url: str) -> tuple[int, int]:
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return len(body), series


def report(what: str, times: list[float]) -> None:
    times = sorted(times)
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    print(
        f"{what}: {len(times)} scrapes, p50 {1000 * statistics.median(times):.0f} ms, "
        f"p99 {1000 * p99:.0f} ms, max {1000 * times[-1]:.0f} ms (goal < 250 ms)"
    )


if __name__ == "__main__":
    main()
