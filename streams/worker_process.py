"""One worker process: the pipeline with its sinks under Faust's Worker, which stops within
10 s of SIGTERM after a bounded last checkpoint."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from streams import collector, log_limit, seam
from streams.admin import ensure_topics
from streams.app import TABLES, TOPICS, Pipeline
from streams.settings import Settings
from streams.worker_sinks import WorkerSinks

#: SIGTERM's budget (10 s in all): the last checkpoint, then what is pending for Redis.
LAST_CHECKPOINT_S = 6.0
REDIS_DRAIN_S = 2.0


def run_worker(settings: Settings) -> None:
    """Start a worker with its sinks in this process (blocks until stopped)."""
    from faust.worker import Worker

    pipeline = Pipeline(settings)
    sinks = WorkerSinks(pipeline)

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
            await sinks.redis.stop(drain_timeout_s=REDIS_DRAIN_S)
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
