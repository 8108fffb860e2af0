"""Benchmark: a worker's memory over a long steady stream (the issue's soak: 30 minutes at
200 events/s, RSS flat after warm-up).

Starts one `paywatch worker` of its own (own topics, app id, Redis prefix, web port), sends
simulator events for Hòa Bình (duplicates, refunds and bad records included) at ``--rate`` per
second for ``--seconds``, and samples the resident memory (VmRSS) of the worker and its
live-view process every ``--every-s`` seconds, with the size of its RocksDB write-ahead logs
(what the open memtables hold: they grow until RocksDB flushes them, bounded by the write
buffers streams/app.py gives each table partition). Prints the samples, the slope of a
least-squares line through the samples after ``--warmup-s`` seconds (MiB per hour) of the RSS
and of the RSS less the logs, the same slope over the last ten minutes, the worker's CPU share,
and whether its counters equal the offline recount at the end (exit 1 if not).

    .venv/bin/python -m bench.bench_soak [--rate 200] [--seconds 1800] [--warmup-s 300]
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from datetime import date
from pathlib import Path

from bench.bench_quiet import send_at
from bench.private_worker import private_worker
from bench.process_figures import cpu_s
from bench.process_figures import rss_mib as tree_rss_mib
from models.registry import Registry
from streams.simulator import SimConfig, generate
from tests.recount import recount
from tests.streams.stream_harness import wait_for_counters

#: The closing stretch whose slope is printed on its own: RocksDB's memtables (4 MiB per table
#: partition) first fill and flush over the first 20 minutes at 200 events/s, each a step up.
LAST_S = 600.0


def rss_mib(pid: int) -> float:
    """The worker's resident memory with its live-view process's."""
    mib = tree_rss_mib(pid)
    return float("nan") if mib is None else mib


def wal_mib(data_dir: Path) -> float:
    """The size of the worker's RocksDB write-ahead logs: about what its memtables hold."""
    return sum(f.stat().st_size for f in data_dir.rglob("*.log") if f.is_file()) / 2**20


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MiB per hour."""
    n = len(samples)
    if n < 2:
        return float("nan")
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (m - mean_m) for t, m in samples)
    return cov / var * 3600 if var else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=1800.0)
    parser.add_argument("--warmup-s", type=float, default=300.0)
    parser.add_argument("--every-s", type=float, default=30.0, help="seconds between samples")
    args = parser.parse_args()
    registry = Registry.load({"17"})
    count = int(args.rate * args.seconds)
    config = SimConfig(count=count, seed=7, start=date(2022, 1, 1), end=date(2022, 12, 31))
    records = [(r.key, r.value) for r in generate(config, registry)]
    settings, worker = private_worker("soak", args.bootstrap)
    assert worker.proc is not None
    pid = worker.proc.pid
    samples: list[tuple[float, float]] = []
    beyond_wal: list[tuple[float, float]] = []  # RSS less the write-ahead logs
    done = threading.Event()

    def sample(started_s: float) -> None:
        while not done.wait(args.every_s):
            at_s, mib, wal = time.monotonic() - started_s, rss_mib(pid), wal_mib(settings.data_dir)
            samples.append((at_s, mib))
            beyond_wal.append((at_s, mib - wal))
            print(
                f"  {at_s:6.0f} s  RSS {mib:6.1f} MiB  write-ahead logs {wal:6.1f} MiB", flush=True
            )

    try:
        time.sleep(15)  # start-up
        started_s, cpu_before = time.monotonic(), cpu_s(pid)
        samples.append((0.0, rss_mib(pid)))
        beyond_wal.append((0.0, samples[0][1] - wal_mib(settings.data_dir)))
        sampler = threading.Thread(target=sample, args=(started_s,), daemon=True)
        sampler.start()
        topic = settings.topic("payments")
        sent = asyncio.run(send_at(args.bootstrap, topic, records, args.rate, args.seconds))
        done.set()
        cpu = (cpu_s(pid) - cpu_before) / (time.monotonic() - started_s)
        expected = recount([v for _, v in records[:sent]], registry).counters
        got = wait_for_counters(args.bootstrap, settings.app_id, expected, 120, settle_s=0.0)
    finally:
        done.set()
        worker.stop()
    after = [(t, m) for t, m in samples if t >= args.warmup_s]
    after_less_wal = [(t, m) for t, m in beyond_wal if t >= args.warmup_s]
    share = f"{100 * cpu:.1f}% of a core"
    print(f"{sent:,} events at {args.rate:g}/s over {args.seconds:g} s; CPU {share}")
    print(f"RSS: start {samples[0][1]:.0f} MiB, end {samples[-1][1]:.0f} MiB, "
          f"peak {max(m for _, m in samples):.0f} MiB; after {args.warmup_s:g} s warm-up: "
          f"{min(m for _, m in after):.0f}..{max(m for _, m in after):.0f} MiB, "
          f"slope {slope_per_hour(after):+.1f} MiB/hour; less the write-ahead logs: "
          f"{slope_per_hour(after_less_wal):+.1f} MiB/hour")  # fmt: skip
    last = [(t, m) for t, m in samples if t >= samples[-1][0] - LAST_S]
    print(f"RSS over the last {LAST_S:g} s: {min(m for _, m in last):.0f}.."
          f"{max(m for _, m in last):.0f} MiB, slope {slope_per_hour(last):+.1f} MiB/hour "
          "(every memtable has filled once by then at 200 events/s)")  # fmt: skip
    print(f"counters exact: {got == expected}")
    if got != expected:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
