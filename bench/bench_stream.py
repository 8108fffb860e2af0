"""Benchmark: the paywatch worker against Quix Streams, Faust's ceiling and a bare consumer.

For each scope (``--provinces``: Hòa Bình ``17`` and the whole country ``all`` by default)
pre-fills one fresh `payments` topic (6 partitions) with N simulator events (``--events``,
200,000 by default; duplicates, conflicts, malformed records, refunds and cancellations
included), then runs every contender on that same topic, one after the other:

- ``bare``: a bare aiokafka consumer that reads and decodes every record (decode_event), in
  this process: the ceiling for any Python consumer here;
- ``faust``: Faust's own ceiling, an agent that only reads and decodes (bench/faust_ceiling.py),
  which bounds any Faust worker;
- ``paywatch``: one `paywatch worker`, timed from its start until its consumer group has
  committed everything it read and its counters (read from its changelog) equal the offline
  recount (tests/recount.py);
- ``quix-alo``, ``quix-eos``: the same counting job written as a Quix Streams app
  (bench/quix_contender.py), at-least-once and exactly-once, timed from its start until it has
  processed everything and committed; its counters, read back from its changelog, must also
  equal the recount (all ten fields: it keeps them all, with the same rules).

Prints each rate (the stream contenders' include their start-up; from their first record in
brackets), peak RSS where there is a process of its own, and the ratios paywatch/Quix and
paywatch/Faust ceiling. Exits 1 if a contender's counters are not exact.

Nothing here touches a running deployment: topics, consumer groups and app ids carry a fresh
prefix, the worker writes Redis under a prefix of its own, web servers get a free port (Faust's
ceiling runs none), and the topics and Redis keys are deleted at the end (``--keep``: not).
Quix Streams runs in a virtualenv of its own, made on first use (bench/quix_env.py).

    .venv/bin/python -m bench.bench_stream [--events 200000] [--provinces 17 all]
        [--contenders bare faust paywatch quix-alo quix-eos] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench import quix_env
from bench.private_worker import REDIS_URL, remove_traces
from bench.process_figures import peak_rss_mib
from models.event_decode import decode_event
from models.events import EventError
from models.registry import Registry, national_provinces
from streams.app import TOPICS
from streams.settings import Settings
from streams.simulator import SimConfig, generate
from tests.ports import free_port
from tests.recount import recount
from tests.streams.stream_harness import (
    Counts,
    Worker,
    create_topics,
    diff,
    produce,
    read_counters,
    wait_for_counters,
)

ROOT = Path(__file__).resolve().parents[1]

CONTENDERS = ("bare", "faust", "paywatch", "quix-alo", "quix-eos")
GUARANTEES = {"quix-alo": "at-least-once", "quix-eos": "exactly-once"}
START, END = date(2021, 1, 1), date(2022, 12, 31)
#: Seconds between looks at the worker's committed offsets at the end of its run: the end is
#: timed to this, as Quix's is to the moment it has processed and committed everything.
END_POLL_S = 0.2
SCOPE_NAMES = {"17": "Hòa Bình", "all": "whole country"}


async def bare_read(bootstrap: str, topic: str, count: int) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}.bare",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    started_s = time.perf_counter()
    seen = 0
    try:
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for msgs in batch.values():
                for msg in msgs:
                    seen += 1
                    with contextlib.suppress(EventError):
                        decode_event(msg.value or b"")
        return time.perf_counter() - started_s
    finally:
        await consumer.stop()


class FirstEvent(threading.Thread):
    """Watches a worker's /stats/ until it has read its first event; ``at``: that wall time."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.at_s: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        url = f"http://127.0.0.1:{self.port}/stats/"
        while not self.stop.wait(0.25):
            with (
                contextlib.suppress(OSError, ValueError),
                urllib.request.urlopen(url, timeout=2) as response,
            ):
                if int(json.loads(response.read())["events"]) > 0:
                    self.at_s = time.time()
                    return


def run_faust(settings: Settings, n: int, batch: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.faust_ceiling",
         "--bootstrap", settings.bootstrap_servers, "--topic", settings.topic("payments"),
         "--events", str(n), "--batch", str(batch), "--partitions", str(settings.partitions),
         "--app-id", f"{settings.app_id}-ceiling"],
        capture_output=True, text=True, timeout=3600, check=True, cwd=ROOT,
    )  # fmt: skip
    output = done.stdout + done.stderr
    rate = float(re.findall(r"read\+decode: ([\d,]+) events/s", output)[-1].replace(",", ""))
    rss = re.findall(r"peak RSS: ([\d,]+) MiB", output)
    return {"rate": rate, "rss_mib": float(rss[-1].replace(",", "")) if rss else None}


class GroupLag:
    """Messages of ``topics`` (``partitions`` each) a consumer group has not committed yet (a
    whole partition if none), asked through clients kept open: the end of a run is polled
    often, beside the worker it times. (Asking the broker for its topics' metadata at each
    poll cost the benchmark a quarter of a core on a broker holding 800 topics.)"""

    def __init__(self, bootstrap: str, group: str, topics: set[str], partitions: int) -> None:
        self.group = group
        self.tps = [TopicPartition(t, p) for t in sorted(topics) for p in range(partitions)]
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)

    async def __aenter__(self) -> GroupLag:
        await self.admin.start()
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def lag(self) -> int:
        committed = await self.admin.list_consumer_group_offsets(self.group)
        if not committed:  # its topics may not exist yet: asking their ends would log warnings
            raise LookupError(f"group {self.group} has committed nothing yet")
        ends = await self.consumer.end_offsets(self.tps)
        return sum(
            max(0, ends[tp] - (committed[tp].offset if tp in committed else 0)) for tp in self.tps
        )


async def group_lag(bootstrap: str, group: str, topics: set[str], partitions: int) -> int:
    """:meth:`GroupLag.lag`, once."""
    async with GroupLag(bootstrap, group, topics, partitions) as lag:
        return await lag.lag()


async def committed_all(
    bootstrap: str, group: str, topics: set[str], partitions: int, deadline_s: float
) -> float | None:
    """The wall time at which the group is first seen to have committed every message of
    ``topics`` (polled every :data:`END_POLL_S`), None at the deadline (monotonic)."""
    async with GroupLag(bootstrap, group, topics, partitions) as lag:
        while time.monotonic() < deadline_s:
            with contextlib.suppress(Exception):  # the group may not exist yet
                if await lag.lag() == 0:
                    return time.time()
            await asyncio.sleep(END_POLL_S)
    return None


def wait_until_counted(
    settings: Settings, expected: Counts, timeout_s: float
) -> tuple[Counts, float]:
    """Wait until the worker's counters equal ``expected``; return them and the wall time.

    Reading the whole counters changelog takes long at whole-country size and would take the
    CPU from the worker it times, so it is read only once the worker's consumer group has
    committed every message of every topic it reads (which it does after its outputs and
    tables are written); then polled as the tests do if it is not exact yet."""
    topics = {settings.topic(t) for t in TOPICS if t != "payments-dlq"}
    bootstrap, deadline_s = settings.bootstrap_servers, time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        at_s = asyncio.run(
            committed_all(bootstrap, settings.app_id, topics, settings.partitions, deadline_s)
        )
        if at_s is None:
            break
        got = read_counters(bootstrap, settings.app_id)
        if got == expected:
            return got, at_s
        time.sleep(1.0)
    got = wait_for_counters(bootstrap, settings.app_id, expected, 60, settle_s=0.0)
    return got, time.time()


def run_paywatch(settings: Settings, n: int, expected: Counts, log: Path) -> dict[str, Any]:
    started_s = time.time()
    worker = Worker(settings, log).start()
    assert worker.proc is not None
    first = FirstEvent(settings.web_port)
    first.start()
    try:
        got, done_s = wait_until_counted(settings, expected, 3600)
        rss = peak_rss_mib(worker.proc.pid)
    finally:
        first.stop.set()
        worker.stop()
    return {
        "rate": n / (done_s - started_s),
        "rate_after_first": n / (done_s - first.at_s) if first.at_s else None,
        "seconds": done_s - started_s,
        "rss_mib": rss,
        "exact": got == expected,
        "diff": diff(expected, got),
    }


def run_quix(
    python: Path, settings: Settings, scope: str, guarantee: str, n: int, expected: Counts,
    commit_interval_s: float, log: Path,
) -> dict[str, Any]:  # fmt: skip
    group = f"{settings.topic_prefix}{'quix-alo' if guarantee == 'at-least-once' else 'quix-eos'}"
    result = log.with_suffix(".json")
    started_s = time.time()
    with log.open("w") as out:
        done = subprocess.run(
            [str(python), "-m", "bench.quix_contender",
             "--bootstrap", settings.bootstrap_servers, "--topic", settings.topic("payments"),
             "--events", str(n), "--guarantee", guarantee, "--provinces", scope,
             "--partitions", str(settings.partitions), "--group", group,
             "--commit-interval-s", str(commit_interval_s), "--started-s", str(started_s),
             "--result", str(result)],
            stdout=out, stderr=out, timeout=3600, check=False, cwd=ROOT,
        )  # fmt: skip
    if done.returncode:
        tail = log.read_text()[-2000:]
        raise SystemExit(f"quix contender ({guarantee}) failed; log {log}:\n{tail}")
    figures = json.loads(result.read_text())
    fields = figures["fields"]
    got: Counts = {}
    for key, row in figures.pop("counters").items():
        unit, _, period = key.partition("|")
        got[(unit, period)] = dict(zip(fields, row, strict=True))
    # The contender keeps all ten fields; were it to keep fewer, compare only those.
    kept = {key: {f: row[f] for f in fields} for key, row in expected.items()}
    kept = {key: row for key, row in kept.items() if any(row.values())}
    return {
        "rate": n / figures["seconds"],
        "rate_after_first": n / (figures["seconds"] - figures["startup_seconds"]),
        "seconds": figures["seconds"],
        "rss_mib": figures["peak_rss_mib"],
        "exact": got == kept,
        "diff": diff(kept, got),
        "fields": fields,
        "dropped": figures["dropped"],
    }


def run_scope(scope: str, args: argparse.Namespace) -> dict[str, Any]:
    unique = uuid.uuid4().hex[:8]
    registry = Registry.load(None if scope == "all" else set(scope.split(",")))
    provinces = national_provinces(START, END) if scope == "all" else set(scope.split(","))
    config = SimConfig(
        count=args.events, seed=11, start=START, end=END, provinces=tuple(sorted(provinces))
    )
    records = [(r.key, r.value) for r in generate(config, registry)]
    expected = recount([v for _, v in records], registry).counters
    settings = Settings(
        app_id=f"bench-{unique}",
        broker=f"kafka://{args.bootstrap}",
        topic_prefix=f"bench{unique}.",
        provinces=scope,
        redis_prefix=f"bench-{unique}",
        data_dir=Path(f"/tmp/paywatch-bench-{unique}"),
        web_port=free_port(),
        redis_url=REDIS_URL,
        batch_size=args.batch,
        checkpoint_interval_s=args.checkpoint_interval_s,
        standby_replicas=0,
    )
    n = len(records)
    name = SCOPE_NAMES.get(scope, f"provinces {scope}")
    topic = settings.topic("payments")
    print(f"== {name}: {n:,} events, {len(expected):,} counter rows, topic {topic}", flush=True)
    print(
        f"   checkpoints: paywatch every {settings.checkpoint_interval_s:g} s, "
        f"Quix every {args.commit_interval_s:g} s",
        flush=True,
    )
    out: dict[str, Any] = {"scope": scope, "events": n, "rows": len(expected)}
    try:
        create_topics(settings)
        produce(args.bootstrap, settings.topic("payments"), records)
        del records
        for contender in args.contenders:
            log = Path(f"/tmp/paywatch-bench-{unique}-{contender}.log")
            if contender == "bare":
                seconds = asyncio.run(bare_read(args.bootstrap, settings.topic("payments"), n))
                out[contender] = {"rate": n / seconds}
            elif contender == "faust":
                out[contender] = run_faust(settings, n, args.batch)
            elif contender == "paywatch":
                out[contender] = run_paywatch(settings, n, expected, log)
            else:
                out[contender] = run_quix(
                    args.quix_python, settings, scope, GUARANTEES[contender], n, expected,
                    args.commit_interval_s, log,
                )  # fmt: skip
            print(f"   {contender}: {describe(out[contender])}", flush=True)
    finally:
        if not args.keep:
            remove_traces(settings)
    report(name, out)
    return out


def describe(figures: dict[str, Any]) -> str:
    text = f"{figures['rate']:,.0f} events/s"
    if figures.get("rate_after_first"):
        text += f" ({figures['rate_after_first']:,.0f}/s from its first record)"
    if figures.get("rss_mib"):
        text += f", peak RSS {figures['rss_mib']:,.0f} MiB"
    if "exact" in figures:
        text += f", exact: {figures['exact']}"
        for line in figures["diff"][:5]:
            text += f"\n      {line}"
    return text


def report(name: str, out: dict[str, Any]) -> None:
    rates = {c: out[c]["rate"] for c in CONTENDERS if c in out}
    paywatch = rates.get("paywatch")
    print(f"-- {name}, {out['events']:,} events: ratios (rates incl. start-up)")
    if paywatch:
        for other, label in (
            ("quix-alo", "Quix at-least-once"),
            ("quix-eos", "Quix exactly-once"),
            ("faust", "Faust's ceiling"),
            ("bare", "bare aiokafka"),
        ):
            if other in rates:
                print(f"   paywatch/{label}: {paywatch / rates[other]:.3f}")
    for quix in ("quix-alo", "quix-eos"):
        if quix in rates and "bare" in rates:
            print(f"   {quix}/bare aiokafka: {rates[quix] / rates['bare']:.3f}")
    if "faust" in rates and "bare" in rates:
        print(f"   Faust's ceiling/bare aiokafka: {rates['faust'] / rates['bare']:.3f}")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--provinces", nargs="+", default=["17", "all"], help="scopes: '17', '17,25', 'all'"
    )
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--batch", type=int, default=1000, help="paywatch's events per step")
    parser.add_argument(
        "--commit-interval-s", type=float, default=5.0, help="Quix's checkpoint interval (s)"
    )
    parser.add_argument(
        "--checkpoint-interval-s",
        type=float,
        default=Settings.model_fields["checkpoint_interval_s"].default,
        help="paywatch's checkpoint interval (s); its default unless given",
    )
    parser.add_argument("--keep", action="store_true", help="keep the topics and Redis keys")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if any(c in GUARANTEES for c in args.contenders):
        args.quix_python = quix_env.ensure()
    results = [run_scope(scope, args) for scope in args.provinces]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    inexact = [
        f"{r['scope']}/{c}"
        for r in results
        for c in CONTENDERS
        if r.get(c, {}).get("exact") is False
    ]
    if inexact:
        sys.exit(f"counters not exact: {', '.join(inexact)}")


if __name__ == "__main__":
    main()
