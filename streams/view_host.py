"""The live-view process: the Redis live view (sinks/redis_view.py) of one worker, run beside it
on a core of its own (``python -m streams.view_host``, started by streams/view_process.py).

It reads the worker's frames on stdin (streams/view_pipe.py) and answers on the stdout it was
given; its own logs go to stderr, with the worker's. It ignores SIGINT and SIGTERM: the worker
stops it (a last flush, bounded), and when the worker is gone (end of stdin, as after kill -9) it
exits at once without writing: whoever owns the rows now writes them."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.registry import Registry
from models.targets import Targets
from sinks.redis_view import RedisView, SinkObserver
from sinks.unit_directory import UnitDirectory
from streams import collector, log_limit
from streams import view_pipe as pipe

log = logging.getLogger("paywatch.view_host")

#: The view has a process of its own: under load it may flush half of the time (in the worker's
#: thread it took a quarter at most), so its pending map stays small during a backfill.
LOAD_PACE = 1.0
#: Seconds between the view's state reports (pending keys and lag, for the worker's gauges)
#: while writes are pending, and while none are.
STATE_EVERY_S = 0.25
IDLE_STATE_EVERY_S = 1.0

Send = Callable[[bytes], None]


class Relay(SinkObserver):
    """The view's figures, sent to the worker (its /metrics holds the sink's series)."""

    def __init__(self, send: Send) -> None:
        self._send = send

    def sink_error(self, sink: str) -> None:
        self._send(pipe.frame(pipe.ERROR))

    def sink_flushed(self, sink: str, keys: int, seconds: float) -> None:
        self._send(pipe.frame(pipe.FLUSHED, keys, seconds))

    def sink_healed(self, sink: str, rows: int) -> None:
        self._send(pipe.frame(pipe.HEALED, rows))


class HostedView(RedisView):
    """A view whose owned rows are the worker's: when Redis lost the view, it asks the worker
    for them (once per new generation, again after a "not now")."""

    def __init__(self, *args: Any, send: Send, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._send = send
        self._asked: str | None = None

    @property
    def heals_itself(self) -> bool:
        return True

    def _lost(self, generation: str) -> None:
        if self._asked != generation:
            self._asked = generation
            self._send(pipe.frame(pipe.HEAL, generation))

    def not_now(self, generation: str) -> None:
        if self._asked == generation:
            self._asked = None


def build(config: dict[str, Any], send: Send) -> HostedView:
    provinces = config["provinces"]
    registry = Registry.load(None if provinces is None else frozenset(provinces))
    targets = Targets.load(Path(config["targets_dir"]), registry)
    return HostedView(
        config["url"],
        config["prefix"],
        UnitDirectory(registry, targets),
        observer=Relay(send),
        send=send,
        load_pace=LOAD_PACE,
    )


def apply(view: HostedView, message: list[Any], send: Send) -> float | None:
    """Act on one frame from the worker; the drain budget (s) when it says stop."""
    kind = message[0]
    if kind == pipe.ROWS:
        view.update_values(message[1])
    elif kind == pipe.DRAIN:
        task = asyncio.create_task(drain(view, message[1], message[2], send))
        _drains.add(task)
        task.add_done_callback(_drains.discard)
    elif kind == pipe.DISCARD:
        dropped = view.discard(frozenset(message[1]))
        log.info(
            "%d units went to another worker: %d pending writes dropped", len(message[1]), dropped
        )
    elif kind == pipe.BEGIN_HEAL:
        view.begin_heal()
    elif kind == pipe.END_HEAL:
        view.end_heal(message[1], message[2])
    elif kind == pipe.NOT_NOW:
        view.not_now(message[1])
    elif kind == pipe.STOP:
        return float(message[1])
    return None


#: The drains under way (a reference to each task until it ends).
_drains: set[asyncio.Task[None]] = set()


async def drain(view: RedisView, token: int, timeout_s: float, send: Send) -> None:
    """Answer drain ``token`` once nothing is pending (every write done), or at the timeout."""
    done = await view.wait_idle(timeout_s)
    send(pipe.frame(pipe.DRAINED, token, done))


async def report_state(view: RedisView, send: Send) -> None:
    last = (0, 0.0)
    while True:
        state = (view.pending, round(view.lag, 3))
        if state != last or state[0]:
            send(pipe.frame(pipe.STATE, *state))
            last = state
        log_limit.repeats.flush()
        await asyncio.sleep(STATE_EVERY_S if state[0] else IDLE_STATE_EVERY_S)


async def serve(answers_fd: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", buffering=0)
    )
    transport, _ = await loop.connect_write_pipe(
        asyncio.Protocol, os.fdopen(answers_fd, "wb", buffering=0)
    )
    send: Send = transport.write
    config = await pipe.read_frame(reader)
    if config is None or config[0] != pipe.CONFIG:
        raise SystemExit("paywatch view host: expected the worker's config first")
    logging.getLogger().setLevel(config[1]["log_level"].upper())
    view = build(config[1], send)
    collector.tune()  # like the worker's: its pending rows and caches are a big heap to walk
    await view.start()
    reporter = asyncio.create_task(report_state(view, send))
    while True:
        message = await pipe.read_frame(reader)
        if message is None:  # the worker is gone: its partitions' new owner writes from now on
            log.warning("live view: the worker is gone; exiting without a last flush")
            os._exit(0)
        drain_s = apply(view, message, send)
        if drain_s is not None:
            reporter.cancel()
            await view.stop(drain_timeout_s=drain_s)
            log_limit.repeats.flush(everything=True)
            return


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    answers_fd = os.dup(1)
    os.dup2(2, 1)  # a stray print must not corrupt the answers
    logging.basicConfig(
        stream=sys.stderr, format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(log_limit.repeats)
    asyncio.run(serve(answers_fd))


__all__ = ["HostedView", "Relay", "apply", "build", "drain", "main", "serve"]

if __name__ == "__main__":
    main()
