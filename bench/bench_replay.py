"""Benchmark: `paywatch replay` throughput (validate every row, then produce to Kafka).

Writes N simulator events to a JSON Lines file, then times the two phases of a replay:
validation (the same decoder as the stream) and producing to a fresh topic.

    .venv/bin/python bench/bench_replay.py --events 200000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from rich.console import Console

from models.registry import Registry
from streams import replay
from streams.admin import ensure_topics
from streams.settings import Settings
from streams.simulator import SimConfig, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    registry = Registry.load({"17"})
    config = SimConfig(
        count=args.events, seed=9, start=date(2022, 1, 1), end=date(2022, 12, 31), malformed_rate=0
    )
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export.jsonl"
        with export.open("wb") as out:
            for record in generate(config, registry):
                out.write(record.value + b"\n")
        size = export.stat().st_size
        started = time.perf_counter()
        checked = replay.validate(export)
        validated = time.perf_counter() - started
    unique = uuid.uuid4().hex[:8]
    # its own topic prefix, app id and Redis prefix, though it only produces to its topic
    settings = Settings(
        app_id=f"bench-replay-{unique}",
        broker=f"kafka://{args.bootstrap}",
        topic_prefix=f"replay{unique}.",
        redis_prefix=f"bench-replay-{unique}",
    )
    asyncio.run(ensure_topics(settings))
    started = time.perf_counter()
    asyncio.run(
        replay.produce(
            checked.events,
            settings.bootstrap_servers,
            settings.topic("payments"),
            Console(stderr=True),
            progress=False,
        )
    )
    produced = time.perf_counter() - started
    rows = checked.rows
    figures = {
        "rows": rows,
        "file_mib": size / 2**20,
        "validate_rows_per_s": rows / validated,
        "produce_events_per_s": len(checked.events) / produced,
        "total_rows_per_s": rows / (validated + produced),
    }
    print(
        f"replay of {rows:,} rows ({figures['file_mib']:.1f} MiB): "
        f"validate {figures['validate_rows_per_s']:,.0f} rows/s, "
        f"produce {figures['produce_events_per_s']:,.0f} events/s, "
        f"overall {figures['total_rows_per_s']:,.0f} rows/s"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
