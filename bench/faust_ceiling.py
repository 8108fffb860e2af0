"""Faust's own ceiling: one agent that only reads and decodes, as paywatch's agents read.

Run by bench_stream.py in its own process on the topic it filled: a Faust app with one agent
iterating ``take_events`` in steps of ``--batch`` and decoding every record (decode_event),
nothing else: no tables, no sends, no web server (Faust's `worker` command turns its web server
on whatever the app's ``web_enabled`` says, so it is started ``--without-web``: it binds no port,
not even a running worker's 6066). Prints the rate from the first event to the last, and the
process's peak RSS. Whatever paywatch does per event comes on top of this, so it bounds what
any Faust worker reaches here.

    .venv/bin/python -m bench.faust_ceiling --bootstrap 127.0.0.1:9092 --topic T --events N
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import faust

from models.event_decode import decode_event
from models.events import EventError


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--app-id", help="Faust app id (default: a fresh one)")
    args = parser.parse_args()
    datadir = tempfile.mkdtemp(prefix="paywatch-ceiling-")
    app = faust.App(
        args.app_id or f"bench-ceiling-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{args.bootstrap}",
        datadir=datadir,
        topic_partitions=args.partitions,
        web_enabled=False,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
    )
    topic = app.topic(args.topic, key_type=bytes, value_type=bytes, partitions=args.partitions)
    seen = first = 0
    started_s = 0.0

    async def read(stream: Any) -> None:
        nonlocal seen, started_s, first
        async for events in stream.take_events(args.batch, within=0.05):
            if not started_s:  # timed from the end of the first step
                started_s, first = time.perf_counter(), len(events)
            for event in events:
                with contextlib.suppress(EventError):
                    decode_event(event.value)
            seen += len(events)
            if seen >= args.events:
                elapsed_s = time.perf_counter() - started_s
                rate = (seen - first) / elapsed_s
                print(f"faust agent read+decode: {rate:,.0f} events/s ({elapsed_s:.1f}s)")
                print(f"faust agent peak RSS: {peak_rss_mib():,.0f} MiB")
                sys.stdout.flush()
                shutil.rmtree(datadir, ignore_errors=True)
                os._exit(0)

    app.agent(topic, name="read")(read)
    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn", "--without-web"]
    app.main()


if __name__ == "__main__":
    main()
