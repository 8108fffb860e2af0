"""Benchmark: what one worker costs when the stream is quiet (the issue's goal: at 20 events/s,
at most 3% of a core).

Starts one `paywatch worker` of its own (own topics, app id, Redis prefix, web port), lets it
settle, then sends simulator events at ``--rate`` per second for ``--seconds`` and reads the
worker's CPU time (user + system, /proc/PID/stat) over that window. Prints the share of one
core, and the same with no events at all (the cost of timers, flush loops and empty steps).

    .venv/bin/python -m bench.bench_quiet [--rate 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.private_worker import private_worker
from bench.process_figures import cpu_s
from models.registry import Registry
from streams.simulator import SimConfig, generate

ROOT = Path(__file__).resolve().parents[1]


async def send_at(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes]], rate: float,
    seconds: float,
) -> int:  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    sent = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds and sent < len(records):
            due = int((time.monotonic() - started) * rate) + 1
            while sent < min(due, len(records)):
                key, value = records[sent]
                await producer.send(topic, value=value, key=key)
                sent += 1
            await asyncio.sleep(0.01)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle-s", type=float, default=20.0)
    args = parser.parse_args()
    registry = Registry.load({"17"})
    count = int(args.rate * args.seconds) + 10
    config = SimConfig(count=count, seed=5, start=date(2022, 3, 1), end=date(2022, 3, 28))
    records = [(r.key, r.value) for r in generate(config, registry)]
    settings, worker = private_worker("quiet", args.bootstrap)
    assert worker.proc is not None
    pid = worker.proc.pid
    try:
        time.sleep(args.settle_s)
        before, started = cpu_s(pid), time.monotonic()
        time.sleep(args.seconds / 2)
        idle = (cpu_s(pid) - before) / (time.monotonic() - started)
        print(f"no events: {100 * idle:.1f}% of a core")
        before, started = cpu_s(pid), time.monotonic()
        if os.environ.get("BENCH_PROFILE"):  # py-spy record of the busy window (for a person)
            import subprocess

            subprocess.Popen([str(ROOT / ".venv/bin/py-spy"), "record", "-d", "30", "-r", "100",
                              "-f", "raw", "-o", os.environ["BENCH_PROFILE"], "--pid", str(pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        sent = asyncio.run(
            send_at(args.bootstrap, settings.topic("payments"), records, args.rate, args.seconds)
        )
        busy = (cpu_s(pid) - before) / (time.monotonic() - started)
        print(f"{sent} events at {args.rate:g}/s: {100 * busy:.1f}% of a core")
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
