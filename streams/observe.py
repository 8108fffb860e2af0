"""Wires the sinks to a running pipeline: the Redis live view and the Prometheus metrics.

- Every stored counter change goes to the Redis view (absolute values, coalesced) and to the
  worker's owned-rows cache, which `/metrics` renders at scrape time.
- The cache holds what the metrics need: every year row (for the monotonic totals) and the
  rows of the current month and day (and of later ones, which the clock may move to; the
  clock is models/event_clock.py's, fed with the counted payments' event times). It is
  rebuilt from the table after each rebalance, so a worker exposes exactly the units of the
  partitions it owns.
- After each rebalance (once the tables are recovered) every owned row is pushed to Redis
  again, in chunks while the stages count: absolute writes, so this is harmless, and it heals
  a Redis that lost data.
- A one-second timer moves the pipeline's in-process counts to the Prometheus counters and
  reads the consumer lag of every assigned partition.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from models.event_clock import EventClock
from models.kpi import Counters
from models.periods import VN_TZ, period_kind
from models.targets import Targets
from sinks.metrics import PipelineMetrics, install
from sinks.pipeline_metrics import STAGES
from sinks.redis_view import RedisView
from sinks.unit_directory import UnitDirectory
from streams import collector, log_limit, seam
from streams import counters as rows
from streams.admin import ensure_topics
from streams.app import TABLES, TOPICS, Pipeline
from streams.hooks import ChangedRow
from streams.ingest import partition_for
from streams.settings import Settings

log = logging.getLogger(__name__)

SYNC_INTERVAL = 1.0
#: SIGTERM's budget (10 s in all): the last checkpoint, then what is pending for Redis.
LAST_CHECKPOINT_S = 6.0
REDIS_DRAIN_S = 2.0
#: Counter rows read back per chunk after a rebalance (the stages run between chunks).
READ_BACK_CHUNK = 2000


def _current(now: datetime) -> tuple[str, str]:
    local = now.astimezone(VN_TZ)
    return local.strftime("%Y-%m"), local.strftime("%Y-%m-%d")


def current_time(clock: EventClock) -> datetime:
    """The time the gauges and the live view's "current" rows go by (models/event_clock.py):
    now when live or when the pinned day is today, else noon of the current day."""
    now = datetime.now(UTC)
    today = now.astimezone(VN_TZ).date()
    day = clock.day(today)
    if day == today:
        return now
    return datetime(day.year, day.month, day.day, 12, tzinfo=VN_TZ)


def log_targets(targets: Targets, directory: Path) -> None:
    """Which years have targets; a warning when this (Vietnam) year has none, since every unit
    that counts a payment this year then has no target and cannot be below it."""
    years = targets.years()
    this_year = datetime.now(VN_TZ).year
    log.info("targets for %s from %s", ", ".join(map(str, years)) or "no year", directory)
    if this_year not in years:
        log.warning(
            "no targets for %d (this year) in PAYWATCH_TARGETS_DIR=%s (years there: %s): units "
            "with payments in %d have no target in force; add %d.yaml and restart the worker",
            this_year,
            directory,
            ", ".join(map(str, years)) or "none",
            this_year,
            this_year,
        )


class Observers:
    """The sinks of one worker, attached to its pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        settings = pipeline.settings
        self.pipeline = pipeline
        targets = Targets.load(settings.targets_dir, pipeline.registry)
        log_targets(targets, settings.targets_dir)
        self.directory = UnitDirectory(pipeline.registry, targets)
        self.registry = CollectorRegistry()
        self.clock = EventClock(settings.pinned_day, settings.future_tolerance_s)
        self._today_until, self._today_value = 0.0, ("", "")
        app = pipeline.app
        self.metrics: PipelineMetrics = install(
            app, self.registry, view=self.owned_rows, directory=self.directory, clock=self.now
        )
        self.redis = RedisView(
            settings.redis_url,
            settings.redis_prefix,
            self.directory,
            observer=self.metrics,
            # Rows read mid-recovery would be stale; _on_recovered writes them all after it.
            owned=lambda: None if app.rebalancing else self._table_rows(),
        )
        self.metrics.watch_sink("redis", lambda: self.redis.pending, lambda: self.redis.lag)
        self._cache: dict[tuple[str, str], Counters] = {}
        self._synced: dict[str, int] = {}
        self._lagging: set[tuple[str, str]] = set()
        self._window = ("", "")
        self._read_back_task: asyncio.Task[None] | None = None
        pipeline.listeners.add(self.redis.update_many)
        pipeline.listeners.add(self._remember)
        # mode's Signal.connect is typed for plain functions; async receivers work at runtime.
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]
        app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]
        app.on_rebalance_complete.connect(self._on_recovered)  # type: ignore[arg-type]
        app.on_before_shutdown.connect(self._on_shutdown)  # type: ignore[arg-type]
        app.task(self._start_redis)
        app.timer(SYNC_INTERVAL)(self._sync)

    # -- the owned rows -----------------------------------------------------------------------
    def _keep(self, period: str, month: str, day: str) -> bool:
        """Year rows, and the current month and day; and the months and days after them, which
        the clock may move to (it moves once a second, after their rows were stored)."""
        kind = period_kind(period)
        return kind == "year" or period >= (month if kind == "month" else day)

    def now(self) -> datetime:
        return current_time(self.clock)

    def _remember(self, changed: list[ChangedRow]) -> None:
        month, day = self._today()
        for unit, period, counters in changed:
            if self._keep(period, month, day):
                self._cache[(unit, period)] = counters

    def _today(self) -> tuple[str, str]:
        """The clock's (month, day), worked out again once a second (it is asked once per
        changed row; the clock itself moves once a second, in _sync)."""
        now = time.monotonic()
        if now >= self._today_until:
            self._today_until = now + 1.0
            self._today_value = self._window_now()
        return self._today_value

    def _window_now(self) -> tuple[str, str]:
        """The current (month, day); ("", "") (keep every row) until the clock has seen an
        event: the first rows counted may be of a backfill, long before today."""
        return _current(self.now()) if self.clock.known else ("", "")

    def owned_rows(self) -> Iterator[tuple[str, str, Counters]]:
        month, day = self._window_now()
        for (unit, period), counters in self._cache.items():
            if self._keep(period, month, day):
                yield unit, period, counters

    def _table_rows(self) -> Iterator[tuple[str, str, Counters]]:
        for key, value in self.pipeline.counters.items():
            name = key.decode() if isinstance(key, bytes) else str(key)
            unit, period = rows.split_key(name)
            yield unit, period, rows.as_counters(rows.load(value).values)

    # -- rebalances ---------------------------------------------------------------------------
    def _units_topic(self) -> str:
        return self.pipeline.settings.topic("unit-deltas")

    async def _on_revoked(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        self._stop_read_back()  # the next one reads what this worker owns then
        revoked = args[0] if args else kwargs.get("revoked", ())
        lost = {tp.partition for tp in revoked if tp.topic == self._units_topic()}
        if not lost:
            return
        n = self.pipeline.settings.partitions
        gone = {u for (u, _) in self._cache if partition_for(u, n) in lost}
        self._cache = {k: v for k, v in self._cache.items() if k[0] not in gone}
        dropped = self.redis.discard(gone)
        log.info(
            "revoked %d unit partitions: %d units, %d pending writes", len(lost), len(gone), dropped
        )

    async def _on_assigned(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        assigned = args[0] if args else kwargs.get("assigned", ())
        self.metrics.rebalances.inc()
        by_topic: dict[str, int] = {}
        for tp in assigned:
            by_topic[tp.topic] = by_topic.get(tp.topic, 0) + 1
        for topic in self._topics():
            self.metrics.assigned_partitions.labels(topic).set(by_topic.get(topic, 0))

    async def _on_recovered(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        self._stop_read_back()
        self._read_back_task = asyncio.create_task(self._read_back())

    def _stop_read_back(self) -> None:
        if self._read_back_task is not None:
            self._read_back_task.cancel()
            self._read_back_task = None

    async def _read_back(self) -> None:
        """Every owned counter row into the live view, the metrics' cache and the clock, a chunk
        at a time while the stages count (a million rows take seconds; counting waited for them
        after every restart and rebalance). A row is read and queued within one chunk, without
        an await between: the value queued is the row's latest, so a newer one can only come
        after it. The table's iterator reads a snapshot, so rows that a checkpoint wrote since
        it began, and rows pending in the checkpoint, are read through the checkpoint instead."""
        started = time.monotonic()
        ck = self.pipeline.tally_ck
        watched = ck.watch()
        by_day: dict[date, int] = {}
        count = kept = 0
        try:
            table_rows = iter(self.pipeline.counters.items())
            while True:
                chunk = []
                month, day = self._window_now()
                for key, stored in itertools.islice(table_rows, READ_BACK_CHUNK):
                    name = key.decode() if isinstance(key, bytes) else str(key)
                    value = ck.get(name) if name in watched or name in ck.rows else stored
                    row = value if isinstance(value, rows.Row) else rows.load(value)
                    unit, period = rows.split_key(name)
                    counters = rows.as_counters(row.values)
                    chunk.append((unit, period, counters))
                    if self._keep(period, month, day) and (unit, period) not in self._cache:
                        self._cache[(unit, period)] = counters
                        kept += 1
                    if period_kind(period) == "day":
                        when = date.fromisoformat(period)
                        by_day[when] = by_day.get(when, 0) + counters.paid + counters.reversed
                if not chunk:
                    break
                self.redis.update_many(chunk)
                count += len(chunk)
                await asyncio.sleep(0)
        finally:
            ck.unwatch(watched)
        self.clock.seed(by_day)
        self._today_until = 0.0
        log.info(
            "read back %d counter rows in %.1f s while counting; %d kept for metrics",
            count,
            time.monotonic() - started,
            kept,
        )

    def _topics(self) -> list[str]:
        topic = self.pipeline.settings.topic
        return [
            topic(n) for n in ("payments", "payments-by-tx", "payments-by-dossier", "unit-deltas")
        ]

    # -- lifecycle and the periodic sync ------------------------------------------------------
    async def _start_redis(self) -> None:
        await self.redis.start()

    async def _on_shutdown(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        self._stop_read_back()
        await self.redis.stop()

    async def _sync(self) -> None:
        stats = self.pipeline.stats
        self._move("counted", stats.facts)
        self._move("duplicate", stats.duplicates)
        self._move("replayed", stats.replayed)
        self._move("dead_letter", sum(stats.dead_letters.values()))
        for reason, count in stats.dead_letters.items():
            self._move_to(self.metrics.dead_letters.labels(reason), f"dl:{reason}", count)
        for stage, count in stats.quarantined.items():
            self._move_to(self.metrics.quarantined.labels(stage), f"q:{stage}", count)
        for stage in STAGES:
            failures = self.pipeline.failed_steps.failures(stage)
            self.metrics.step_failures.labels(stage).set(failures)
        future = self.clock.future_events
        while stats.delays:
            event_time_s, record_time_s, counted_at_s = stats.delays.popleft()
            self.clock.saw(event_time_s, counted_at_s)
            self.metrics.event_time_delay.observe(max(0.0, counted_at_s - event_time_s))
            self.metrics.produce_delay.observe(max(0.0, counted_at_s - record_time_s))
        if self.clock.future_events > future:
            self.metrics.future_dated.inc(self.clock.future_events - future)
            log.warning(
                "%d payments dated more than %.0f s after the wall clock were counted (in their "
                "own periods; left out of the current day; docs/event-time.md)",
                self.clock.future_events - future,
                self.clock.future_tolerance_s,
            )
        self._consumer_lag()
        self._prune()
        log_limit.repeats.flush()

    def _prune(self) -> None:
        """Forget month and day rows once the clock has moved past them."""
        month, day = self._window_now()
        if (month, day) == self._window:
            return
        self._window = (month, day)
        self._cache = {k: v for k, v in self._cache.items() if self._keep(k[1], month, day)}

    def _move(self, outcome: str, total: int) -> None:
        self._move_to(self.metrics.events.labels(outcome), outcome, total)

    def _move_to(self, counter: Any, name: str, total: int) -> None:
        seen = self._synced.get(name, 0)
        if total > seen:
            counter.inc(total - seen)
            self._synced[name] = total

    def _consumer_lag(self) -> None:
        consumer = self.pipeline.app.consumer
        committed_offsets = seam.committed_offsets(consumer)
        try:
            assignment = consumer.assignment()
        except Exception:  # the consumer is not started yet or is rebalancing
            return
        current = set()
        sources = set(self._topics())
        for tp in assignment:
            if tp.topic not in sources:
                continue  # changelog partitions kept as standbys are not consumed work
            committed = committed_offsets.get(tp)
            try:
                end = consumer.highwater(tp)
            except Exception:
                continue
            if end is None:
                continue
            labels = (tp.topic, str(tp.partition))
            current.add(labels)
            self.metrics.consumer_lag.labels(*labels).set(max(0, end - (committed or 0)))
        for labels in self._lagging - current:
            self.metrics.consumer_lag.remove(*labels)
        self._lagging = current


def run_worker(settings: Settings) -> None:
    """Start a worker with its sinks in this process (blocks until stopped)."""
    import asyncio

    from faust.worker import Worker

    pipeline = Pipeline(settings)
    observers = Observers(pipeline)

    async def last_checkpoint() -> None:
        # Bounded, so that SIGTERM ends a worker within 10 s even with its broker or Redis
        # down; a checkpoint cut short is replayed by whoever takes the partitions.
        checkpoint = asyncio.ensure_future(pipeline.last_checkpoint())
        try:
            done, _ = await asyncio.wait({checkpoint}, timeout=LAST_CHECKPOINT_S)
            if not done:
                checkpoint.cancel()
                raise TimeoutError(
                    f"the last checkpoint did not finish within {LAST_CHECKPOINT_S:.0f} s "
                    "(is the broker down?)"
                )
            checkpoint.result()
        finally:
            await observers.redis.stop(drain_timeout_s=REDIS_DRAIN_S)
            log_limit.repeats.flush(everything=True)

    class LevelledWorker(seam.stopping_quickly(Worker, last_checkpoint)):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if not self.stdout.isatty():
                self.spinner = None  # its cursor codes and backspaces would land in log files

        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            # mode leaves the root logger at DEBUG and filters in the handler, so every
            # debug call of aiokafka and Faust (several per message) built a log record.
            super().on_setup_root_logger(logger, level)
            logger.setLevel(settings.log_level.upper())
            for handler in logger.handlers:
                handler.addFilter(log_limit.repeats)

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(ensure_topics(settings, TOPICS, TABLES))
    collector.tune()
    LevelledWorker(pipeline.app, loglevel=settings.log_level.upper()).execute_from_commandline()
