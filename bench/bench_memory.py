"""Benchmark: a worker's peak memory after counting N events over the whole country's units.

Pre-fills fresh topics with N simulator events spread over every province of the pre-2025
registry (a year of 2022: 63 provinces, about 11,000 units), starts one `paywatch worker` for
the whole country (`PAYWATCH_PROVINCES=all`, RocksDB, sinks on), waits until it has read every
event and its consumer group has no lag left, and reads the worker's peak resident set size
(VmHWM in /proc). Goal: at most 1 GiB after 1,000,000 events.

    .venv/bin/python bench/bench_memory.py --events 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import urllib.request
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "streams")]

from aiokafka import AIOKafkaConsumer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient  # noqa: E402
from stream_harness import Worker, create_topics, free_port, produce  # noqa: E402

from models.registry import Registry  # noqa: E402
from streams.app import TOPICS  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.simulator import SimConfig, generate  # noqa: E402

CONSUMED = tuple(t for t in TOPICS if t != "payments-dlq")


async def lag(bootstrap: str, group: str, topics: set[str]) -> int:
    """Messages of ``topics`` the group has not committed yet (all of a partition without
    a committed offset)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        metadata = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(t, p) for t in topics for p in metadata.partitions_for_topic(t) or ()]
        ends = await consumer.end_offsets(tps)
        total = 0
        for tp in tps:
            done = committed[tp].offset if tp in committed else 0
            total += max(0, ends[tp] - done)
        return total
    finally:
        await consumer.stop()
        await admin.close()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def stats(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats/", timeout=10) as response:
        loaded: dict[str, object] = json.loads(response.read())
        return loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    args = parser.parse_args()
    unique = uuid.uuid4().hex[:8]
    registry = Registry.load(None)
    config = SimConfig(
        count=args.events,
        seed=17,
        start=date(2022, 1, 1),
        end=date(2022, 12, 31),
        provinces=tuple(sorted(registry.provinces())),
    )
    settings = Settings(
        app_id=f"bench-mem-{unique}",
        broker=f"kafka://{args.bootstrap}",
        topic_prefix=f"benchmem{unique}.",
        provinces="all",
        redis_prefix=f"bench-mem-{unique}",
        data_dir=Path(f"/tmp/paywatch-bench-mem-{unique}"),
        web_port=free_port(),
        standby_replicas=0,
    )
    create_topics(settings)
    batch: list[tuple[bytes | None, bytes]] = []
    sent = 0
    for record in generate(config, registry):
        batch.append((record.key, record.value))
        if len(batch) == 50_000:
            produce(args.bootstrap, settings.topic("payments"), batch)
            sent += len(batch)
            batch = []
    if batch:
        produce(args.bootstrap, settings.topic("payments"), batch)
        sent += len(batch)
    print(f"produced {sent:,} events over {len(registry.provinces())} provinces", flush=True)
    started = time.perf_counter()
    worker = Worker(settings, Path(f"/tmp/paywatch-bench-mem-{unique}.log")).start()
    assert worker.proc is not None
    topics = {settings.topic(t) for t in CONSUMED}
    try:
        settled = 0
        while settled < 2:
            time.sleep(5)
            if not worker.alive:
                sys.exit("the worker stopped; see its log")
            try:
                read = int(str(stats(settings.web_port)["events"]))
            except OSError:
                continue
            left = asyncio.run(lag(args.bootstrap, settings.app_id, topics))
            settled = settled + 1 if read >= sent and left == 0 else 0
        elapsed = time.perf_counter() - started
        rss = peak_rss_mib(worker.proc.pid)
    finally:
        worker.stop()
    print(f"events: {sent:,}  counted in {elapsed:.0f}s ({sent / elapsed:,.0f} events/s)")
    print(f"worker peak RSS (VmHWM): {rss:,.0f} MiB  (goal: at most 1,024 MiB)")


if __name__ == "__main__":
    main()
