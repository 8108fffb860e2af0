"""A record's fault or the world's, and the crash-loop guard.

A fault caused by a record (anything that record makes the code raise) sends that record to the
dead letters and the stream goes on. A fault outside a record (the broker, the disk) ends the
step: the worker exits (status 70), its supervisor starts it again and the step is replayed.
:func:`is_transient` tells the two apart.

The guard catches what the per-record isolation cannot: a step that fails as a whole, again and
again, because of something one of its records does. Before a worker exits on a failed step it
writes the step down (:class:`FailedSteps`: the agent, the source positions of the step's
records, and how many steps failed before all of those records got through). Once that count
reaches ``limit``, a step over any of those records replays them one at a time, so that only
the culprit goes to the dead letters (reason ``quarantined``). A transient fault still ends a
one-record step, so the guard never dead-letters a good record because the broker was away.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from aiokafka.errors import (
    CorruptRecordException,
    KafkaError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
)

log = logging.getLogger(__name__)

#: Where a record came from: (topic, partition, offset).
Position = tuple[str, int, int]

#: Kafka errors that one record's size or bytes cause: replaying cannot cure them.
_RECORD_KAFKA_ERRORS: Final = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    CorruptRecordException,
)


class StoreError(Exception):
    """A table read or write failed: a fault of the disk or the store, not of a record."""


def is_transient(exc: BaseException) -> bool:
    """True for a fault outside the record being processed (worth replaying the step)."""
    if isinstance(exc, _RECORD_KAFKA_ERRORS):
        return False
    return isinstance(exc, StoreError | KafkaError | OSError | TimeoutError | MemoryError)


class FailedSteps:
    """The steps that failed, per agent, kept in a small JSON file that outlives the process."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self._steps: dict[str, tuple[set[Position], int]] = self._load()

    def _load(self) -> dict[str, tuple[set[Position], int]]:
        try:
            doc = json.loads(self.path.read_text())
            return {
                agent: ({(t, int(p), int(o)) for t, p, o in entry["positions"]}, entry["failures"])
                for agent, entry in doc.items()
            }
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring an unreadable failed-step record %s (%s)", self.path, exc)
            return {}

    def _save(self) -> None:
        doc = {
            agent: {"positions": sorted(positions), "failures": failures}
            for agent, (positions, failures) in self._steps.items()
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w") as out:
            json.dump(doc, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def watching(self, agent: str) -> bool:
        """True while a failed step of ``agent`` is written down (cheap: checked every step)."""
        return agent in self._steps

    def failures(self, agent: str) -> int:
        """How many of ``agent``'s steps failed since its failed records last got through."""
        return self._steps.get(agent, (set(), 0))[1]

    def failed(self, agent: str, positions: Iterable[Position]) -> int:
        """Write down that ``agent``'s step over ``positions`` failed; return how many of its
        steps have failed since all the records of its failed steps last got through.

        Batches differ from run to run, so "the same step" is any step over records that
        failed before and have not got through since: their positions are kept (a union) until
        a step over them succeeds."""
        before, failures = self._steps.get(agent, (set(), 0))
        self._steps[agent] = (before | set(positions), failures + 1)
        self._save()
        return failures + 1

    def suspect(self, agent: str, positions: Iterable[Position]) -> bool:
        """True when a step over ``positions`` holds a record of a failed step and the failures
        have reached ``limit``."""
        entry = self._steps.get(agent)
        if entry is None or entry[1] < self.limit:
            return False
        return not entry[0].isdisjoint(positions)

    def passed(self, agent: str, positions: Iterable[Position]) -> None:
        """A step over ``positions`` succeeded: those records got through. Once every record
        of the failed steps has, the failures are forgotten."""
        entry = self._steps.get(agent)
        if entry is None:
            return
        left = entry[0].difference(positions)
        if len(left) == len(entry[0]):
            return
        if left:
            self._steps[agent] = (left, entry[1])
        else:
            del self._steps[agent]
        self._save()
