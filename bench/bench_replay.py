"""Benchmark: a backfill through `paywatch replay --wait`, from the export file to every event
counted (the issue's goal: a 1,000,000-row whole-country export in at most 3 minutes).

Writes N simulator events (duplicates, refunds and cancellations, unknown units included; no
malformed rows, which replay would refuse) to a JSON Lines file, starts one `paywatch worker`
of its own (own topics, app id, Redis prefix, web port), then runs the real command,
`paywatch replay FILE --wait`, and times it: validation, sending to `payments-bulk`, and
waiting until the worker has counted everything; then until its live view has nothing left to
write to Redis (the goal's end: Redis exact). Then checks the worker's counters (read from its
changelog) and its Redis view against the offline recount of the file, and prints the worker's
peak RSS and the CPU seconds each process used (the worker, its live view, Redis, the replay
command, the rest of the machine) while counting and after it; exits 1 if either differs.

    .venv/bin/python -m bench.bench_replay [--events 1000000] [--provinces all]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import redis

from bench.private_worker import REDIS_URL, private_worker
from bench.process_figures import cpu_s, machine_busy_cpu_s, peak_rss_mib, process_cpu_s
from models.registry import Registry, national_provinces
from streams.simulator import SimConfig, generate
from tests.e2e.sink_checks import redis_counters
from tests.processes import PAYWATCH
from tests.recount import recount
from tests.streams.stream_harness import (
    diff,
    read_counters,
    worker_env,
)

START, END = date(2021, 1, 1), date(2022, 12, 31)


def redis_sink_sample(port: int, name: str) -> float:
    """The worker's sample ``name{sink="redis"}``, asked of its /metrics by name: a whole
    scrape renders every unit's series (hundreds of thousands once the whole country is
    counted), work the worker did twice a second instead of its live view's."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics?name[]={name}", timeout=30) as r:
        text = r.read().decode()
    line = f'\n{name}{{sink="redis"}} '
    start = text.find(line)
    if start < 0:
        raise SystemExit(f"the worker's /metrics has no {line.strip()} series")
    start += len(line)
    return float(text[start : text.index("\n", start)])


def view_written(port: int, timeout_s: float) -> None:
    """Return once the worker's live view has said twice in a row, 0.5 s apart, that it has
    nothing pending (polled only after the counting is done)."""
    deadline_s, idle = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline_s:
        idle = idle + 1 if redis_sink_sample(port, "paywatch_sink_pending_updates") == 0 else 0
        if idle == 2:
            return
        time.sleep(0.5)
    raise SystemExit(f"the live view still had rows pending after {timeout_s:.0f} s")


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds used so far: by the worker's own process, by its descendants (its live-view
    process), by Redis, by this process's finished children (`paywatch replay`), and by the
    whole machine."""

    worker: float
    view: float
    redis: float
    replay: float
    machine: float

    @classmethod
    def now(cls, worker_pid: int, redis_pid: int) -> CpuReading:
        own = process_cpu_s(worker_pid)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return cls(
            worker=own,
            view=cpu_s(worker_pid) - own,
            redis=process_cpu_s(redis_pid),
            replay=children.ru_utime + children.ru_stime,
            machine=machine_busy_cpu_s(),
        )

    def since(self, start: CpuReading) -> dict[str, float]:
        used = {
            name: getattr(self, name) - getattr(start, name)
            for name in ("worker", "view", "redis", "replay", "machine")
        }
        used["rest"] = used["machine"] - sum(v for k, v in used.items() if k != "machine")
        return used


def redis_pid() -> int:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def cpu_line(phase: str, used: dict[str, float], wall_s: float) -> str:
    """Where the CPU went over ``wall_s`` seconds, against what the machine's cores allow."""
    cores = os.cpu_count() or 1
    return (
        f"CPU seconds {phase} ({wall_s:,.1f} s; {cores} cores allow {cores * wall_s:,.0f}): "
        f"worker {used['worker']:,.1f} ({used['worker'] / wall_s:.0%} of a core), its live view "
        f"{used['view']:,.1f}, Redis {used['redis']:,.1f}, `paywatch replay` "
        f"{used['replay']:,.1f}, the rest (Kafka, this benchmark, the system) "
        f"{used['rest']:,.1f}; the machine busy {used['machine'] / (cores * wall_s):.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--provinces", default="all", help="'all' or province codes, e.g. 17")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--checkpoint-interval-s", type=float, help="the worker's (default: the setting's own)"
    )
    args = parser.parse_args()
    scope = None if args.provinces == "all" else set(args.provinces.split(","))
    registry = Registry.load(scope)
    provinces = national_provinces(START, END) if scope is None else scope
    config = SimConfig(
        count=args.events, seed=9, start=START, end=END, malformed_rate=0,
        provinces=tuple(sorted(provinces)),
    )  # fmt: skip
    unique = uuid.uuid4().hex[:8]
    export = Path(f"/tmp/paywatch-bench-replay-{unique}.jsonl")
    values = [record.value for record in generate(config, registry)]
    export.write_bytes(b"".join(v + b"\n" for v in values))
    expected = recount(values, registry).counters
    given = args.checkpoint_interval_s
    tuned = {} if given is None else {"checkpoint_interval_s": given}
    settings, worker = private_worker("replay", args.bootstrap, provinces=args.provinces, **tuned)
    try:
        time.sleep(10)  # the worker's start-up is not the replay's
        assert worker.proc is not None
        worker_pid, server_pid = worker.proc.pid, redis_pid()
        cpu_start = CpuReading.now(worker_pid, server_pid)
        started_s = time.perf_counter()
        done = subprocess.run(
            [PAYWATCH, "replay", str(export), "--skip-bad", "--no-progress", "--wait"],
            env=worker_env(settings), capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        counted_s = time.perf_counter() - started_s
        cpu_counted = CpuReading.now(worker_pid, server_pid)
        if done.returncode != 0:
            raise SystemExit(f"paywatch replay failed:\n{done.stderr[-2000:]}")
        view_written(settings.web_port, 600)
        seconds = time.perf_counter() - started_s - 0.5  # the second idle reading's wait
        cpu_end = CpuReading.now(worker_pid, server_pid)
        written = int(redis_sink_sample(settings.web_port, "paywatch_sink_writes_total"))
        rss = peak_rss_mib(worker_pid)
        got = read_counters(args.bootstrap, settings.app_id)
        view = redis_counters(REDIS_URL, settings.redis_prefix)
    finally:
        worker.stop()
        export.unlink(missing_ok=True)
    interval_s = settings.checkpoint_interval_s
    counting, view_after = cpu_counted.since(cpu_start), cpu_end.since(cpu_counted)
    figures = {
        "rows": len(values),
        "provinces": args.provinces,
        "checkpoint_interval_s": interval_s,
        "counted_seconds": counted_s,
        "seconds": seconds,
        "rows_per_s": len(values) / seconds,
        "exact": got == expected,
        "redis_exact": view == expected,
        "worker_peak_rss_mib": rss,
        "cpu_seconds_counting": counting,
        "cpu_seconds_view_after": view_after,
        "counter_rows": len(expected),
        "view_rows_written": written,
    }
    print(
        f"paywatch replay --wait of {len(values):,} rows ({args.provinces}): counted in "
        f"{counted_s:,.1f} s, in Redis in {seconds:,.1f} s ({figures['rows_per_s']:,.0f} rows/s); "
        f"exact: counters {figures['exact']}, Redis {figures['redis_exact']}; "
        f"worker peak RSS {rss or 0:,.0f} MiB; checkpoints every {interval_s:g} s"
    )
    print(cpu_line("while counting", counting, counted_s))
    if seconds - counted_s >= 1:  # shares of a moment would mean nothing
        print(cpu_line("after it, until Redis", view_after, seconds - counted_s))
    print(
        f"the live view wrote {written:,} rows to Redis for {len(expected):,} counter rows "
        f"({written / max(len(expected), 1):.2f} writes a row)"
    )
    print(done.stdout.strip())
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if got != expected or view != expected:
        print("\n".join(diff(expected, got) + diff(expected, view)))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
