"""Repeated log messages, summarised: a broker outage made aiokafka log the same few errors
thousands of times a second (86,434 lines in 30 s), and Faust's "producer buffer full" came
hundreds of times per 20,000 events.

A message is "the same" when its logger, level and text agree once numbers are left out (ports,
node ids, buffer sizes differ between repeats). The first one passes; its repeats within
:data:`INTERVAL_S` are held back and counted; :meth:`RepeatFilter.flush` (called every second
by the worker) then logs one line per held-back message: how many times it repeated, and the
last of the repeats (its numbers are the latest: "read back 0 rows" then "read back 2473 rows" is
summarised with the 2473).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["INTERVAL_S", "RepeatFilter", "repeats"]

INTERVAL_S: Final = 30.0
#: At most this many different messages are tracked (older ones are forgotten first).
MAX_TRACKED: Final = 1000

_NUMBERS: Final = re.compile(r"\d+")
_SUMMARY: Final = "paywatch.log_limit"


@dataclass
class _Seen:
    passed_at_s: float  # when the message last passed (the filter's clock)
    held: int  # repeats held back since then
    example: str  # the text of the last one held back, for the summary
    level: int


class RepeatFilter(logging.Filter):
    """A handler filter that lets the first of a repeated message through and summarises the
    rest once per interval."""

    def __init__(
        self, interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self._seen: dict[tuple[str, int, str], _Seen] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == _SUMMARY:
            return True
        text = record.getMessage()
        key = (record.name, record.levelno, _NUMBERS.sub("#", text))
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.passed_at_s < self.interval_s:
                seen.held += 1
                seen.example = text  # the summary quotes the last: its numbers are the latest
                return False
            if seen is not None and seen.held:
                record.msg, record.args = f"{text} (and {seen.held} more like it)", ()
            self._seen.pop(key, None)
            self._seen[key] = _Seen(now, 0, text, record.levelno)
            while len(self._seen) > MAX_TRACKED:
                del self._seen[next(iter(self._seen))]
        return True

    def flush(self, everything: bool = False) -> None:
        """Log a summary of every message held back for a whole interval (``everything``: of
        every message held back, as a worker stops)."""
        now = self.clock()
        due: list[_Seen] = []
        with self._lock:
            for key, seen in list(self._seen.items()):
                if everything or now - seen.passed_at_s >= self.interval_s:
                    del self._seen[key]
                    if seen.held:
                        due.append(seen)
        out = logging.getLogger(_SUMMARY)
        for seen in due:
            out.log(
                seen.level,
                "repeated %d times in the last %.0f s, the last: %s",
                seen.held,
                now - seen.passed_at_s,
                seen.example,
            )


#: The worker's filter, on every handler of its root logger.
repeats = RepeatFilter()
