"""Benchmark: one worker's end-to-end rate against a bare aiokafka read+decode ceiling.

Pre-fills a fresh `payments` topic with N simulator events, then (1) a bare aiokafka consumer
reads and decodes every record (decode_event), the ceiling for any Python consumer here, and
(2) one `paywatch worker` counts them; its time is taken until the counters equal the offline
recount. Prints both rates and their ratio, and Faust's own ceiling on the same topic (an agent
that only reads and decodes, bench/faust_ceiling.py), which bounds any Faust worker.

    .venv/bin/python bench/bench_stream.py --events 1000000 [--batch 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "streams")]

from aiokafka import AIOKafkaConsumer  # noqa: E402
from recount import recount  # noqa: E402
from stream_harness import Worker, create_topics, produce, wait_for_counters  # noqa: E402

from models.events import EventError, decode_event  # noqa: E402
from models.registry import Registry  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.simulator import SimConfig, generate  # noqa: E402


async def bare_read(bootstrap: str, topic: str, count: int) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-bare-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    started = time.perf_counter()
    seen = 0
    try:
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for msgs in batch.values():
                for msg in msgs:
                    seen += 1
                    with contextlib.suppress(EventError):
                        decode_event(msg.value or b"")
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    unique = uuid.uuid4().hex[:8]
    registry = Registry.load({"17"})
    config = SimConfig(count=args.events, seed=11, start=date(2021, 1, 1), end=date(2022, 12, 31))
    records = [(r.key, r.value) for r in generate(config, registry)]
    expected = recount([v for _, v in records], registry).counters
    settings = Settings(
        app_id=f"bench-{unique}",
        broker=f"kafka://{args.bootstrap}",
        topic_prefix=f"bench{unique}.",
        data_dir=Path(f"/tmp/paywatch-bench-{unique}"),
        web_port=6190,
        batch_size=args.batch,
        standby_replicas=0,
    )
    create_topics(settings)
    produce(args.bootstrap, settings.topic("payments"), records)
    n = len(records)
    bare = asyncio.run(bare_read(args.bootstrap, settings.topic("payments"), n))
    ceiling = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "faust_ceiling.py"), "--bootstrap", args.bootstrap,
         "--topic", settings.topic("payments"), "--events", str(n), "--batch", str(args.batch),
         "--partitions", str(settings.partitions)],
        capture_output=True, text=True, timeout=3600, check=True,
    )  # fmt: skip
    faust_rate = float(
        re.findall(r"read\+decode: ([\d,]+) events/s", ceiling.stderr)[-1].replace(",", "")
    )
    started = time.perf_counter()
    worker = Worker(settings, Path(f"/tmp/paywatch-bench-{unique}.log")).start()
    try:
        got = wait_for_counters(args.bootstrap, settings.app_id, expected, 3600, settle=0.0)
        stream = time.perf_counter() - started
    finally:
        worker.stop()
    print(f"events: {n}  exact: {got == expected}  batch: {args.batch}")
    print(f"bare aiokafka read+decode: {n / bare:,.0f} events/s ({bare:.1f}s)")
    print(f"paywatch worker (incl. start-up, until counters complete): {n / stream:,.0f} events/s")
    print(f"Faust's own ceiling (an agent that only reads and decodes): {faust_rate:,.0f} events/s")
    ceiling_ratio = faust_rate * bare / n
    print(
        f"ratio worker/bare: {bare / stream:.3f}  (Faust ceiling/bare: {ceiling_ratio:.3f}, "
        f"worker/Faust ceiling: {n / stream / faust_rate:.3f})"
    )


if __name__ == "__main__":
    main()
