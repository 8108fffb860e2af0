"""Wires the sinks to a running pipeline: the Redis live view and the Prometheus metrics.

- Every stored counter change goes to the Redis view (absolute values, coalesced, written by a
  process of its own: streams/view_process.py) and to the metrics' current rows
  (streams/current_rows.py), which `/metrics` renders at scrape time.
- After each rebalance the owned rows are read back into both (streams/read_back.py).
- A one-second timer moves the pipeline's in-process counts to the Prometheus counters
  (streams/metrics_sync.py) and reads the consumer lag of every assigned partition
  (streams/partition_metrics.py).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry

from models.event_clock import EventClock
from models.targets import Targets
from sinks.metrics import PipelineMetrics, install
from sinks.unit_directory import UnitDirectory
from streams import log_limit
from streams.app import Pipeline
from streams.current_rows import CurrentRows, table_rows
from streams.ingest import partition_for
from streams.metrics_sync import MetricsSync
from streams.partition_metrics import PartitionMetrics
from streams.read_back import ReadBack
from streams.targets_log import log_targets
from streams.view_process import ViewProcess

log = logging.getLogger(__name__)

SYNC_INTERVAL_S = 1.0
#: Seconds a revocation waits for the live view to write what it has pending (a backfill's
#: backlog takes seconds; Redis down must not hold the rebalance up for long).
REVOKE_DRAIN_S = 5.0


class WorkerSinks:
    """The sinks of one worker, attached to its pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        settings = pipeline.settings
        self.pipeline = pipeline
        targets = Targets.load(settings.targets_dir, pipeline.registry)
        log_targets(targets, settings.targets_dir)
        self.directory = UnitDirectory(pipeline.registry, targets)
        self.registry = CollectorRegistry()
        self.clock = EventClock(settings.pinned_day, settings.future_tolerance_s)
        self.current = CurrentRows(self.clock)
        app = pipeline.app
        self.metrics: PipelineMetrics = install(
            app,
            self.registry,
            view=self.current.owned_rows,
            directory=self.directory,
            clock=self.current.now,
        )
        self.redis = ViewProcess(
            {
                "url": settings.redis_url,
                "prefix": settings.redis_prefix,
                "provinces": None
                if settings.province_codes is None
                else sorted(settings.province_codes),
                "targets_dir": str(settings.targets_dir),
                "log_level": settings.log_level,
            },
            self.metrics,
            # Rows read mid-recovery would be stale; the read-back writes them all after it.
            lambda: None if app.rebalancing else table_rows(pipeline),
        )
        self.metrics.watch_sink("redis", lambda: self.redis.pending, lambda: self.redis.lag)
        self.read_back = ReadBack(pipeline, self.redis, self.current)
        self.counts = MetricsSync(pipeline.stats, pipeline.failed_steps, self.metrics, self.clock)
        self.partitions = PartitionMetrics(pipeline.settings, pipeline.app, self.metrics)
        pipeline.listeners.add(self.redis.update_many)
        pipeline.listeners.add(self.current.remember)
        # mode's Signal.connect is typed for plain functions; async receivers work at runtime.
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]
        app.on_partitions_assigned.connect(self._on_assigned)  # type: ignore[arg-type]
        app.on_rebalance_complete.connect(self._on_recovered)  # type: ignore[arg-type]
        app.on_before_shutdown.connect(self._on_shutdown)  # type: ignore[arg-type]
        app.task(self._start_redis)
        app.timer(SYNC_INTERVAL_S)(self._sync)

    async def _on_revoked(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        """Hand the revoked units' rows over cleanly: what this worker's live view has pending
        is written before the rebalance goes on (their new owner reads them back from its
        tables once it has recovered them, and a write of ours landing after that would leave
        an older value in Redis); only if Redis cannot take it in time is it dropped."""
        self.read_back.stop()  # the next one reads what this worker owns then
        revoked = args[0] if args else kwargs.get("revoked", ())
        units_topic = self.pipeline.settings.topic("unit-deltas")
        lost = {tp.partition for tp in revoked if tp.topic == units_topic}
        if not lost:
            return
        started_s = time.monotonic()
        drained = await self.redis.drain(REVOKE_DRAIN_S)
        n = self.pipeline.settings.partitions
        gone = {u for (u, _) in self.current.cache if partition_for(u, n) in lost}
        self.current.forget(gone)
        self.redis.discard(gone)
        if drained:
            log.info(
                "revoked %d unit partitions: %d units; live view written in %.2f s",
                len(lost), len(gone), time.monotonic() - started_s,
            )  # fmt: skip
        else:
            log.warning(
                "revoked %d unit partitions: the live view could not write what was pending "
                "within %.0f s (Redis down or slow, or its process restarting); their new "
                "owner writes them",
                len(lost), REVOKE_DRAIN_S,
            )  # fmt: skip

    async def _on_assigned(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        self.partitions.assigned(args[0] if args else kwargs.get("assigned", ()))

    async def _on_recovered(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        self.read_back.start()

    async def _start_redis(self) -> None:
        await self.redis.start()

    async def _on_shutdown(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        self.read_back.stop()
        await self.redis.stop()

    async def _sync(self) -> None:
        self.counts.sync()
        self.partitions.update_lag()
        self.current.prune()
        log_limit.repeats.flush()
