"""Benchmark: how soon counting resumes after a worker dies, and how soon the others take over.

Three cases, each on fresh topics while the simulator's payments arrive at a steady rate:

- ``kill``: one worker under deploy/local/supervise.sh (as `make up` runs it) is killed with
  ``kill -9``; the supervisor starts it again.
- ``exit70``: the same worker's step fails (a test-only fault injected into the tally step), so
  it exits with status 70 and the supervisor starts it again.
- ``takeover``: three workers share the partitions; one is killed with ``kill -9`` for good, and
  the two others must take its partitions over. Then ``stop``: one of the two left is stopped
  with SIGTERM for good (and killed if it has not ended 30 s later, as `make down` does), and
  the last one must take everything over.

"Counting" is read where it lands: each table partition's changelog (txns, dossiers, counters:
3 x PAYWATCH_PARTITIONS partitions, one per agent and partition) grows with every step that
partition's owner completes. Counting has resumed when every one of them has grown again after
the fault (the first and the last partition are both reported), counted from the moment of the
fault; for the restarts also from the moment the new process started. The group's state is
polled as well (DescribeGroups): a restart should cause no rebalance at all, a takeover one that
begins when the broker drops the dead member (the session timeout).

    .venv/bin/python -m bench.bench_failover [--rate 100] [--rounds 1] [--baseline]

``--baseline`` runs the workers with Faust's default group settings (dynamic membership, 60 s
session, 3 s heartbeats) instead of streams/membership.py's, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.bench_latency import CLEAN
from bench.private_worker import REDIS_URL, removed_at_exit
from models.registry import Registry
from streams.admin import ensure_topics
from streams.app import TABLES, TOPICS
from streams.settings import Settings
from streams.simulator import SimConfig, generate
from tests.ports import free_port
from tests.streams.stream_harness import SUPERVISE, worker_env

ROOT = Path(__file__).resolve().parents[1]

#: Seconds after a fault before the changelog offsets are read as the base: a write the dead
#: process had already sent may still land just after it died.
GUARD_S = 0.5
POLL_S = 0.1
#: The supervisor's backoff resets after a run this long (PAYWATCH_RESTART_RESET_S): short here,
#: so that every round restarts after the first delay, as after a long healthy run.
RESET_AFTER_S = "15"
#: Seconds a worker gets to stop after SIGTERM before it is killed (what `make down` gives it).
GRACE_S = 30.0
FAIL_ENV = "PAYWATCH_BENCH_FAIL_MARKER"
BASELINE_ENV = "PAYWATCH_BENCH_BASELINE"


# -- the worker side (this file run with --as-worker) -------------------------------------------


def as_worker() -> None:
    """`paywatch worker`, with the bench's two test-only changes: a step that fails once when
    the marker file appears (FAIL_ENV), and Faust's default group settings (BASELINE_ENV)."""
    from streams import app as pipeline_module
    from streams.cli import app as cli

    if os.environ.get(BASELINE_ENV):
        pipeline_module.group_options = lambda settings: {}  # type: ignore[attr-defined]
    marker = Path(os.environ[FAIL_ENV]) if os.environ.get(FAIL_ENV) else None
    real_step = pipeline_module._step

    @contextlib.contextmanager
    def failing_step(agent: str, *args: Any, **kwargs: Any) -> Iterator[None]:
        with real_step(agent, *args, **kwargs):
            if agent == "tally" and marker is not None and marker.exists():
                marker.unlink()
                marker.with_suffix(".failed").write_text(repr(time.time()))
                raise RuntimeError("bench_failover: a step made to fail")
            yield

    pipeline_module._step = failing_step
    cli(["worker"], prog_name="paywatch")


# -- the bench side -------------------------------------------------------------------------------


class Proc:
    """A worker process (this file with --as-worker), supervised or not."""

    def __init__(self, settings: Settings, log: Path, supervised: bool, env: dict[str, str]):
        self.settings = settings
        command = [sys.executable, "-m", "bench.bench_failover", "--as-worker"]
        if supervised:
            command = ["bash", SUPERVISE, *command]
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        extra = {"PAYWATCH_RESTART_RESET_S": RESET_AFTER_S, "PYTHONPATH": str(ROOT), **env}
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                command, env=worker_env(settings, **extra), stdout=out, stderr=out
            )
        self.supervised = supervised

    def worker_pid(self) -> int | None:
        """The pid of the worker process itself (the supervisor's child when supervised)."""
        if not self.supervised:
            return self.proc.pid if self.proc.poll() is None else None
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return None
        for pid in map(int, children.split()):
            # The worker, not the `sleep` of a pending restart nor a subshell of the supervisor
            # (whose command line is the supervisor's).
            with contextlib.suppress(OSError):
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                if argv[0] == sys.executable.encode() and b"--as-worker" in argv:
                    return pid
        return None

    def kill_worker(self) -> float:
        pid = self.worker_pid()
        assert pid is not None, "no worker process to kill"
        os.kill(pid, signal.SIGKILL)
        at_s = time.time()
        if not self.supervised:
            self.proc.wait(timeout=30)
        return at_s

    def stop(self, grace_s: float = GRACE_S) -> bool:
        """SIGTERM (a supervisor passes it on); SIGKILL after ``grace_s`` seconds, the worker
        first (a supervisor killed first would leave it running). True if it had to kill."""
        if self.proc.poll() is not None:
            return False
        self.proc.terminate()
        try:
            self.proc.wait(timeout=grace_s)
            return False
        except subprocess.TimeoutExpired:
            pass
        pid = self.worker_pid()
        if self.supervised and pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        return True


class Changelogs:
    """End offsets of every table partition's changelog, read through one plain consumer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tps = [
            TopicPartition(f"{settings.app_id}-{table}-changelog", p)
            for table in TABLES
            for p in range(settings.partitions)
        ]
        self.consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def read(self) -> dict[TopicPartition, int]:
        ends: dict[TopicPartition, int] = await self.consumer.end_offsets(self.tps)
        return ends

    async def steady(self, window_s: float = 3.0, timeout_s: float = 180.0) -> None:
        """Wait until every partition has grown within the last ``window`` seconds."""
        deadline_s = time.monotonic() + timeout_s
        seen: dict[TopicPartition, tuple[int, float]] = {}
        while time.monotonic() < deadline_s:
            now_s = time.monotonic()
            for tp, offset in (await self.read()).items():
                if tp not in seen or offset != seen[tp][0]:
                    seen[tp] = (offset, now_s)
            if len(seen) == len(self.tps) and all(
                offset > 0 and now_s - at <= window_s for offset, at in seen.values()
            ):
                return
            await asyncio.sleep(POLL_S)
        stale = sorted(str(tp) for tp, (_, at) in seen.items() if time.monotonic() - at > window_s)
        raise RuntimeError(f"not every partition counts: {stale[:6]}")

    async def resumed(self, fault_s: float, timeout_s: float) -> list[float]:
        """Seconds from ``fault`` (time.time()) until each partition grew again."""
        await asyncio.sleep(max(0.0, fault_s + GUARD_S - time.time()))
        base = await self.read()
        first: dict[TopicPartition, float] = {}
        while len(first) < len(base) and time.time() < fault_s + timeout_s:
            ends = await self.read()
            now_s = time.time()
            for tp, offset in ends.items():
                if tp not in first and offset > base[tp]:
                    first[tp] = now_s - fault_s
            await asyncio.sleep(POLL_S)
        if len(first) < len(base):
            missing = sorted(str(tp) for tp in base if tp not in first)
            raise RuntimeError(f"not counting {timeout_s:.0f} s after the fault: {missing[:6]}")
        return sorted(first.values())


class GroupWatch:
    """The consumer group's state, polled (DescribeGroups): when a rebalance began and when the
    group was stable again."""

    def __init__(self, settings: Settings) -> None:
        self.group = settings.app_id
        self.admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
        self.seen: list[tuple[float, str]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.admin.start()
        self.task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        await self.admin.close()

    async def _poll(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                [response] = await self.admin.describe_consumer_groups([self.group])
                self.seen.append((time.time(), response.groups[0][2]))
            await asyncio.sleep(0.2)

    def since(self, fault_s: float) -> dict[str, float]:
        """Seconds from ``fault_s`` to the first state other than Stable (the rebalance the
        fault caused) and to the Stable state after it; empty if there was no rebalance."""
        after = [(at, state) for at, state in self.seen if at >= fault_s]
        began_s = next((at for at, state in after if state != "Stable"), None)
        if began_s is None:
            return {}
        out = {"rebalance_s": began_s - fault_s}
        stable_s = next((at for at, state in after if at > began_s and state == "Stable"), None)
        if stable_s is not None:
            out["stable_s"] = stable_s - fault_s
        return out


async def produce_steadily(
    settings: Settings, records: list[tuple[bytes, bytes]], rate: float
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
    await producer.start()
    started_s = time.monotonic()
    try:
        for i, (key, value) in enumerate(records):
            delay_s = started_s + i / rate - time.monotonic()
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            await producer.send(settings.topic("payments"), value, key=key)
        raise RuntimeError("ran out of events: raise the count")
    finally:
        await producer.stop()


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base = Path(tempfile.mkdtemp(prefix="paywatch-bench-failover-"))
        registry = Registry.load({"17"})
        config = replace(
            SimConfig(
                count=int(args.rate * 1800), seed=29, start=date(2022, 3, 1), end=date(2022, 3, 31)
            ),
            **CLEAN,
        )
        self.records = [(r.key or b"", r.value) for r in generate(config, registry)]
        self.env = {"PAYWATCH_LOG_LEVEL": args.log_level}
        if args.baseline:
            self.env[BASELINE_ENV] = "1"

    def settings(self, case: str, unique: str, worker: int) -> Settings:
        return removed_at_exit(
            Settings(
                app_id=f"bench-fo-{unique}",
                broker=f"kafka://{self.args.bootstrap}",
                topic_prefix=f"fo{unique}.",
                redis_url=self.args.redis,
                redis_prefix=f"bench-fo-{unique}",
                data_dir=self.base / case / unique / f"w{worker}",
                web_port=free_port(),
            )
        )

    async def restarts(self) -> dict[str, list[dict[str, float]]]:
        unique = uuid.uuid4().hex[:8]
        settings = self.settings("restart", unique, 0)
        await ensure_topics(settings, TOPICS, TABLES)
        marker = self.base / "fail.marker"
        env = {**self.env, FAIL_ENV: str(marker)}
        changelogs = Changelogs(settings)
        await changelogs.start()
        watch = GroupWatch(settings)
        await watch.start()
        producer = asyncio.create_task(produce_steadily(settings, self.records, self.args.rate))
        proc = Proc(settings, self.base / "restart.log", supervised=True, env=env)
        out: dict[str, list[dict[str, float]]] = {"kill": [], "exit70": []}
        try:
            await changelogs.steady()
            for _ in range(self.args.rounds):
                for case in ("kill", "exit70"):
                    await asyncio.sleep(float(RESET_AFTER_S) + 5)  # a long enough run
                    await changelogs.steady()
                    old = proc.worker_pid()
                    if case == "kill":
                        fault_s = proc.kill_worker()
                    else:
                        marker.touch()
                        fault_s = await _failed_at(marker.with_suffix(".failed"))
                    started = asyncio.create_task(_new_worker(proc, old))
                    times = await changelogs.resumed(fault_s, self.args.timeout_s)
                    start_s = await started
                    out[case].append({**_figures(times, fault_s, start_s), **watch.since(fault_s)})
                    print(f"  {case}: {_describe(out[case][-1])}", flush=True)
        finally:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer
            proc.stop()
            await changelogs.stop()
            await watch.stop()
        return out

    async def takeover(self) -> dict[str, list[dict[str, float]]]:
        out: dict[str, list[dict[str, float]]] = {"takeover": [], "stop": []}
        for _ in range(self.args.rounds):
            unique = uuid.uuid4().hex[:8]
            settings = [self.settings("takeover", unique, n) for n in range(3)]
            await ensure_topics(settings[0], TOPICS, TABLES)
            changelogs = Changelogs(settings[0])
            await changelogs.start()
            watch = GroupWatch(settings[0])
            await watch.start()
            producer = asyncio.create_task(
                produce_steadily(settings[0], self.records, self.args.rate)
            )
            procs = []
            try:
                for n, worker_settings in enumerate(settings):
                    log = self.base / f"takeover-{unique}-w{n}.log"
                    procs.append(Proc(worker_settings, log, supervised=False, env=self.env))
                    await changelogs.steady()  # each joins a group that counts
                await asyncio.sleep(10)
                await changelogs.steady()
                fault_s = procs[0].kill_worker()  # for good: nobody starts it again
                times = await changelogs.resumed(fault_s, self.args.timeout_s)
                out["takeover"].append({**_figures(times, fault_s, None), **watch.since(fault_s)})
                print(f"  takeover: {_describe(out['takeover'][-1])}", flush=True)
                await asyncio.sleep(10)
                await changelogs.steady()
                stopping = asyncio.create_task(asyncio.to_thread(procs[1].stop))
                await asyncio.sleep(0)
                fault_s = time.time()
                times = await changelogs.resumed(fault_s, self.args.timeout_s)
                killed = await stopping
                figures = {**_figures(times, fault_s, None), **watch.since(fault_s)}
                if killed:
                    figures["killed_after_s"] = GRACE_S
                out["stop"].append(figures)
                print(f"  stop: {_describe(out['stop'][-1])}", flush=True)
            finally:
                producer.cancel()
                with contextlib.suppress(BaseException):
                    await producer
                for proc in procs:
                    proc.stop()
                await changelogs.stop()
                await watch.stop()
        return out


async def _failed_at(path: Path, timeout_s: float = 60.0) -> float:
    deadline_s = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline_s:
            raise RuntimeError("the injected step failure did not happen")
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)
    at_s = float(path.read_text())
    path.unlink()
    return at_s


async def _new_worker(proc: Proc, old: int | None, timeout_s: float = 120.0) -> float:
    """time.time() at which a worker process other than ``old`` appeared."""
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        pid = proc.worker_pid()
        if pid is not None and pid != old:
            return time.time()
        await asyncio.sleep(0.02)
    raise RuntimeError("the supervisor did not start the worker again")


def _figures(times: list[float], fault_s: float, start_s: float | None) -> dict[str, float]:
    figures = {"first_s": times[0], "all_s": times[-1]}
    if start_s is not None:
        figures["restarted_after_s"] = start_s - fault_s
        figures["from_start_s"] = times[-1] - (start_s - fault_s)
    return figures


def _describe(figures: dict[str, float]) -> str:
    text = f"every partition counting {figures['all_s']:.1f} s after the fault"
    text += f" (first {figures['first_s']:.1f} s)"
    if "rebalance_s" in figures:
        text += f"; the group began a rebalance after {figures['rebalance_s']:.1f} s"
        if "stable_s" in figures:
            text += f" and was stable again after {figures['stable_s']:.1f} s"
    else:
        text += "; no rebalance"
    if "killed_after_s" in figures:
        text += (
            f"; it had not stopped {figures['killed_after_s']:.0f} s after SIGTERM and was killed"
        )
    if "restarted_after_s" in figures:
        text += (
            f"; new process started after {figures['restarted_after_s']:.1f} s, "
            f"counting {figures['from_start_s']:.1f} s after its start"
        )
    return text


def _summary(name: str, runs: list[dict[str, float]]) -> str:
    worst = max(runs, key=lambda f: f["all_s"])
    values = ", ".join(f"{f['all_s']:.1f}" for f in runs)
    return f"{name}: every partition counting again after {values} s (worst: {_describe(worst)})"


def main() -> None:
    if "--as-worker" in sys.argv:
        sys.argv.remove("--as-worker")
        as_worker()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="payments per second")
    parser.add_argument("--rounds", type=int, default=1, help="times each case is measured")
    parser.add_argument("--cases", nargs="*", default=["restarts", "takeover"])
    parser.add_argument("--timeout-s", type=float, default=180.0, help="seconds to give up after")
    parser.add_argument("--baseline", action="store_true", help="Faust's default group settings")
    parser.add_argument("--log-level", default="warning", help="the workers' PAYWATCH_LOG_LEVEL")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    bench = Bench(args)
    mode = "Faust's default group settings" if args.baseline else "streams/membership.py"
    print(f"group settings: {mode}; {args.rate:.0f} payments/s; logs in {bench.base}", flush=True)
    figures: dict[str, list[dict[str, float]]] = {}
    if "restarts" in args.cases:
        figures.update(asyncio.run(bench.restarts()))
    if "takeover" in args.cases:
        figures.update(asyncio.run(bench.takeover()))
    for name, runs in figures.items():
        print(_summary(name, runs))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
