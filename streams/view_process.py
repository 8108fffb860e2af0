"""The worker's side of its live-view process (streams/view_host.py).

Writing the live view takes a quarter of a busy worker's time (a row's fields, ratios, ranks and
JSON for each of thousands of rows a second), and a worker is one Python thread: so the view
runs in a process of its own, on the machine's other core. The worker only sends the rows a
step changed down a pipe (streams/view_pipe.py); the process coalesces and writes them exactly
as an in-process view would (sinks/redis_view.py: absolute values, latest value wins, retries
with backoff, healing). Its figures come back for /metrics.

If the process dies, the worker starts it again and sends every row it owns."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import Any, Final

from sinks.redis_view import SINK, SinkObserver, current_first
from streams import view_pipe as pipe
from streams.hooks import ChangedRow

log = logging.getLogger(__name__)

#: Owned rows per frame when they are all sent again (heal, restart).
CHUNK: Final = 2000
#: Seconds before a view process that died is started again.
RESTART_S: Final = 1.0
#: Seconds the process may take to exit beyond its drain budget before it is killed.
STOP_GRACE_S: Final = 3.0
#: Seconds a drain's answer may take beyond its budget (a busy process reads frames late).
DRAIN_GRACE_S: Final = 1.0
#: Every (unit, period, counter values) the worker owns now, or None for "not now" (its tables
#: are being recovered).
OwnedRows = Callable[[], Iterable[ChangedRow] | None]


class ViewProcess:
    """The live view of one worker, written by a process of its own.

    Use: ``view = ViewProcess(config, observer, owned)``, ``await view.start()``; then
    :meth:`update_many` for changed rows and :meth:`discard` on revocation, as with
    :class:`sinks.redis_view.RedisView`; ``await view.stop()`` at shutdown. ``config``:
    ``url``, ``prefix``, ``provinces`` (None: all), ``targets_dir``, ``log_level``."""

    def __init__(self, config: dict[str, Any], observer: SinkObserver, owned: OwnedRows) -> None:
        self.config = config
        self.observer = observer
        self._owned = owned
        self._proc: asyncio.subprocess.Process | None = None
        self._answers: asyncio.Task[None] | None = None
        self._stopping = False
        self.pending = 0  # distinct keys not yet written, as the process last said
        self.lag = 0.0  # seconds since the oldest of them arrived
        self.restarts = 0
        self._drains: dict[int, asyncio.Future[bool]] = {}
        self._next_drain = 0

    async def start(self) -> None:
        self._stopping = False
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streams.view_host", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=2**26,
        )  # fmt: skip
        self._proc = proc
        self._send(pipe.frame(pipe.CONFIG, self.config))
        self._answers = asyncio.create_task(self._read(proc), name="view-answers")

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def update_many(self, rows: Iterable[ChangedRow]) -> int:
        """Send ``rows`` (unit, period, counter values) to be written; returns their number."""
        items = rows if isinstance(rows, list) else list(rows)
        if items:
            self._send(pipe.frame(pipe.ROWS, items))
        return len(items)

    async def drain(self, timeout_s: float) -> bool:
        """Wait until the process has written every row sent so far (a batch in flight too);
        False if it could not within ``timeout_s`` (Redis down or slow, or no process)."""
        if self._proc is None or self._proc.stdin is None or self._proc.stdin.is_closing():
            return False
        self._next_drain += 1
        token = self._next_drain
        answered = self._drains[token] = asyncio.get_running_loop().create_future()
        self._send(pipe.frame(pipe.DRAIN, token, timeout_s))
        try:
            return await asyncio.wait_for(answered, timeout_s + DRAIN_GRACE_S)
        except TimeoutError:
            return False
        finally:
            self._drains.pop(token, None)

    def discard(self, units: Collection[str]) -> None:
        """Forget pending writes of ``units`` (their partitions went to another worker)."""
        self._send(pipe.frame(pipe.DISCARD, sorted(units)))

    def _send(self, data: bytes) -> None:
        stdin = None if self._proc is None else self._proc.stdin
        if stdin is not None and not stdin.is_closing():
            stdin.write(data)  # the process reads at once and coalesces; nothing waits here
        # else the process is gone: its successor is sent every owned row (see _read)

    def resend_owned(self) -> int | None:
        """Send every owned row (None: the owner cannot say now; its read-back will)."""
        rows = self._owned()
        return None if rows is None else self._send_all(rows)

    def _send_all(self, rows: Iterable[ChangedRow]) -> int:
        ordered = current_first(rows, datetime.now(UTC))
        count = 0
        while chunk := list(itertools.islice(ordered, CHUNK)):
            count += self.update_many(chunk)
        return count

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while (message := await pipe.read_frame(proc.stdout)) is not None:
            self._answer(message)
        status = await proc.wait()
        if self._stopping:
            return
        self.observer.sink_error(SINK)
        log.error("live view process exited (status %s); starting it again", status)
        await asyncio.sleep(RESTART_S)
        if self._stopping:
            return
        self.restarts += 1
        await self.start()
        self.resend_owned()

    def _answer(self, message: list[Any]) -> None:
        kind = message[0]
        if kind == pipe.STATE:
            self.pending, self.lag = message[1], message[2]
        elif kind == pipe.FLUSHED:
            self.observer.sink_flushed(SINK, message[1], message[2])
        elif kind == pipe.ERROR:
            self.observer.sink_error(SINK)
        elif kind == pipe.HEALED:
            self.observer.sink_healed(SINK, message[1])
        elif kind == pipe.HEAL:
            self._heal(message[1])
        elif kind == pipe.DRAINED:
            answered = self._drains.get(message[1])
            if answered is not None and not answered.done():
                answered.set_result(bool(message[2]))

    def _heal(self, generation: str) -> None:
        """Redis lost the view: every owned row again, between the process's heal marks."""
        rows = self._owned()
        if rows is None:
            self._send(pipe.frame(pipe.NOT_NOW, generation))
            return
        self._send(pipe.frame(pipe.BEGIN_HEAL))
        self._send(pipe.frame(pipe.END_HEAL, generation, self._send_all(rows)))

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Stop the process after its last attempt (at most ``drain_timeout_s``) to write what
        is pending."""
        self._stopping = True
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.write(pipe.frame(pipe.STOP, drain_timeout_s))
            with contextlib.suppress(ConnectionError):
                await proc.stdin.drain()
        try:
            await asyncio.wait_for(proc.wait(), drain_timeout_s + STOP_GRACE_S)
        except TimeoutError:
            log.error("live view process did not stop in time; killing it")
            proc.kill()
            await proc.wait()
        if self._answers is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._answers
