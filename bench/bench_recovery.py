"""Benchmark: a worker that has counted 1,000,000 whole-country events, killed and started on
an empty disk (the issue's goals: exact with peak RSS at most 1 GiB; after kill -9 counting
again within 10 s and caught up within 60 s; the time an empty disk takes to recover).

On topics of its own (own app id, Redis prefix, data directory, web port):

1. ``--events`` simulator events are put on `payments`; one worker counts them all. Prints the
   rate, its peak RSS, and checks its counters against the offline recount.
2. Payments then arrive steadily at ``--rate``/s. After ``--run-s`` seconds the worker is killed
   with ``kill -9`` and started again at once (what deploy/local/supervise.sh does). Counting
   again: every changelog partition of every table (3 x PAYWATCH_PARTITIONS) has grown after
   the kill. Caught up: the group's lag is back to at most two seconds of traffic.
3. The worker is stopped, its data directory deleted, and started again: it must rebuild its
   tables from their changelogs before it counts. Same two figures, from its start.
4. The payments stop; once everything is counted the counters are checked again.

Exits 1 when the counters differ from the recount.

    .venv/bin/python -m bench.bench_recovery [--events 1000000] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.bench_failover import Changelogs, Proc
from bench.bench_stream import group_lag
from bench.private_worker import REDIS_URL, removed_at_exit
from bench.process_figures import peak_rss_mib
from models.registry import Registry, national_provinces
from streams.admin import ensure_topics
from streams.app import TABLES, TOPICS
from streams.settings import Settings
from streams.simulator import SimConfig, generate
from tests.ports import free_port
from tests.recount import recount
from tests.streams.stream_harness import diff, produce, read_counters

START, END = date(2022, 1, 1), date(2022, 12, 31)
CONSUMED = tuple(t for t in TOPICS if t != "payments-dlq")


class Steady:
    """Sends ``records`` to `payments` at ``rate`` per second until stopped; ``sent`` counts
    exactly the records sent (a stop waits for the one on its way, never cancels it: a record
    cancelled while its acknowledgement was awaited still reached the topic, uncounted)."""

    def __init__(self, settings: Settings, records: list[tuple[bytes, bytes]], rate: float):
        self.settings, self.records, self.rate = settings, records, rate
        self.sent = 0
        self.task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self.task is not None
        self._stopping.set()
        await self.task

    async def _run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.bootstrap_servers)
        await producer.start()
        started_s = time.monotonic()
        try:
            for i, (key, value) in enumerate(self.records):
                delay_s = started_s + i / self.rate - time.monotonic()
                if delay_s > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay_s)
                if self._stopping.is_set():
                    return
                await (await producer.send(self.settings.topic("payments"), value, key=key))
                self.sent = i + 1
            raise RuntimeError("ran out of steady events: raise --rate x the run length")
        finally:
            await producer.stop()


async def lag(settings: Settings) -> int:
    topics = {settings.topic(t) for t in CONSUMED}
    return await group_lag(settings.bootstrap_servers, settings.app_id, topics, settings.partitions)


async def caught_up(settings: Settings, rate: float, since_s: float, timeout_s: float) -> float:
    """Seconds from ``since`` (time.time()) until the group's lag is two seconds of traffic."""
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        with contextlib.suppress(Exception):  # the group may be rebalancing
            if await lag(settings) <= 2 * rate:
                return time.time() - since_s
        await asyncio.sleep(0.5)
    raise RuntimeError(f"not caught up {timeout_s:.0f} s after the fault")


async def counted_all(settings: Settings, proc: Proc, timeout_s: float) -> float:
    """Wait until the group has committed every message; seconds it took."""
    started_s, deadline_s = time.monotonic(), time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        await asyncio.sleep(2.0)
        if proc.proc.poll() is not None:
            sys.exit("the worker stopped; see its log")
        with contextlib.suppress(Exception):
            if await lag(settings) == 0:
                return time.monotonic() - started_s
    raise RuntimeError(f"not everything counted after {timeout_s:.0f} s")


def check(settings: Settings, values: list[bytes], registry: Registry, what: str) -> bool:
    expected = recount(values, registry).counters
    got = read_counters(settings.bootstrap_servers, settings.app_id)
    wrong = diff(expected, got)
    print(f"   counters after {what}: {'exact' if not wrong else 'WRONG'} "
          f"({len(expected):,} rows)", flush=True)  # fmt: skip
    for line in wrong:
        print("     " + line)
    return not wrong


async def recover(
    name: str, settings: Settings, changelogs: Changelogs, fault_s: float, rate: float, log: Path
) -> tuple[Proc, dict[str, float]]:  # fmt: skip
    """Start the worker again after ``fault`` and time it back to counting and caught up."""
    restarted_s = time.time()
    new = Proc(settings, log, supervised=False, env={})
    times = await changelogs.resumed(fault_s, timeout_s=600)
    figures = {
        "counting_s": times[-1],
        "counting_from_start_s": times[-1] - (restarted_s - fault_s),
        "caught_up_s": await caught_up(settings, rate, fault_s, timeout_s=600),
    }
    print(f"   {name}: counting again {figures['counting_s']:.1f} s after it "
          f"({figures['counting_from_start_s']:.1f} s after the new process started), "
          f"caught up after {figures['caught_up_s']:.1f} s", flush=True)  # fmt: skip
    return new, figures


async def run(args: argparse.Namespace) -> dict[str, Any]:
    registry = Registry.load(None)
    steady_count = int(args.rate * (3 * args.run_s + 1500))
    config = SimConfig(
        count=args.events + steady_count, seed=31, start=START, end=END,
        provinces=tuple(sorted(national_provinces(START, END))),
    )  # fmt: skip
    records = [(r.key or b"", r.value) for r in generate(config, registry)]
    bulk, later = records[: args.events], records[args.events :]
    unique = uuid.uuid4().hex[:8]
    base = Path(tempfile.mkdtemp(prefix="paywatch-bench-recovery-"))
    settings = Settings(
        app_id=f"bench-rec-{unique}",
        broker=f"kafka://{args.bootstrap}",
        topic_prefix=f"benchrec{unique}.",
        provinces="all",
        redis_prefix=f"bench-rec-{unique}",
        data_dir=base / "worker",
        web_port=free_port(),
        standby_replicas=0,
        redis_url=REDIS_URL,
    )
    await ensure_topics(removed_at_exit(settings), TOPICS, TABLES)
    for i in range(0, len(bulk), 50_000):
        await asyncio.to_thread(produce, args.bootstrap, settings.topic("payments"),
                                bulk[i : i + 50_000])  # fmt: skip
    print(f"== {len(bulk):,} whole-country events on {settings.topic('payments')}", flush=True)
    out: dict[str, Any] = {"events": len(bulk), "rate": args.rate}
    log = base / "worker.log"
    proc = Proc(settings, log, supervised=False, env={})
    exact = True
    steady = Steady(settings, later, args.rate)
    changelogs = Changelogs(settings)
    await changelogs.start()
    try:
        seconds = await counted_all(settings, proc, timeout_s=3600)
        rss = peak_rss_mib(proc.proc.pid)
        out["first"] = {"seconds": seconds, "events_per_s": len(bulk) / seconds, "rss_mib": rss}
        print(f"   counted in {seconds:.0f} s ({len(bulk) / seconds:,.0f} events/s), "
              f"peak RSS {rss:,.0f} MiB", flush=True)  # fmt: skip
        exact &= await asyncio.to_thread(check, settings, [v for _, v in bulk], registry, "1M")

        steady.start()
        await asyncio.sleep(args.run_s)
        await changelogs.steady()
        fault_s = proc.kill_worker()
        proc, out["kill"] = await recover("kill -9", settings, changelogs, fault_s, args.rate, log)

        await asyncio.sleep(args.run_s)
        await changelogs.steady()
        await asyncio.to_thread(proc.stop)
        shutil.rmtree(settings.data_dir)
        fault_s = time.time()
        proc, out["empty_disk"] = await recover(
            "empty disk", settings, changelogs, fault_s, args.rate, log
        )

        await asyncio.sleep(args.run_s)
        await steady.stop()
        await counted_all(settings, proc, timeout_s=600)
        values = [v for _, v in bulk] + [v for _, v in later[: steady.sent]]
        out["steady_events"] = steady.sent
        exact &= await asyncio.to_thread(check, settings, values, registry, "the faults")
    finally:
        with contextlib.suppress(Exception):
            await steady.stop()
        proc.stop()
        await changelogs.stop()
    out["exact"] = exact
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=200.0, help="steady payments per second")
    parser.add_argument("--run-s", type=float, default=30.0, help="seconds before each fault")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    out = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    sys.exit(0 if out["exact"] else 1)


if __name__ == "__main__":
    main()
