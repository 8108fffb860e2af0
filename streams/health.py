"""Health pages for an orchestrator (Kubernetes probes, deploy/kubernetes/), on the worker's web
server next to ``/metrics``:

- ``/healthz`` (liveness): the process is up and its event loop answers. Nothing else: a worker
  that rebuilds its tables from their changelogs (minutes on an empty disk) is alive, and
  restarting it would only start the rebuild again.
- ``/readyz`` (readiness): the worker counts. 200 only when a rebalance has completed (its
  tables are recovered and its streams resumed), it holds at least one partition of the topics
  its agents read, and none of those partitions is stalled: records waiting on it while its
  committed offset has not moved for :data:`STALLED_AFTER_S`. Otherwise 503, with the reasons.

Both answer JSON. The decision itself (:func:`not_ready_because`) is pure; :class:`Progress`
remembers since when each partition's committed offset has stood still.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams import seam

#: Seconds a partition with records waiting may keep the same committed offset before the
#: worker is reported stalled (a checkpoint commits every PAYWATCH_CHECKPOINT_INTERVAL_S, one
#: second by default, while records flow).
STALLED_AFTER_S = 120.0
#: Seconds between two looks at the committed offsets.
PROGRESS_INTERVAL_S = 2.0
HEALTHZ = "/healthz"
READYZ = "/readyz"


@dataclass(frozen=True)
class State:
    """What readiness depends on, read from the worker at one moment."""

    rebalances: int  # rebalances started since the process started
    rebalancing: bool  # a rebalance or the recovery of the tables is under way
    sources: int  # partitions of the agents' topics assigned to this worker
    stalled: tuple[str, ...] = ()  # "topic[partition]" of stalled partitions


def not_ready_because(state: State) -> list[str]:
    """Why the worker does not count now; empty when it does."""
    if state.rebalances == 0:
        return ["not joined its consumer group yet"]
    if state.rebalancing:
        return ["rebalancing or recovering its tables from their changelogs"]
    reasons = []
    if state.sources == 0:
        reasons.append("holds no partition (more workers than partitions?)")
    if state.stalled:
        reasons.append(
            f"no progress for {STALLED_AFTER_S:.0f} s with records waiting on "
            + ", ".join(state.stalled)
        )
    return reasons


@dataclass
class Progress:
    """Since when each partition's committed offset has stood still while records wait."""

    stalled_after_s: float = STALLED_AFTER_S
    #: partition -> (committed offset, records waiting, since when both are so)
    _since: dict[Any, tuple[int | None, bool, float]] = field(default_factory=dict)

    def look(
        self,
        committed: Mapping[Any, int | None],
        ends: Mapping[Any, int | None],
        now_s: float,
    ) -> list[Any]:
        """Record this look at the committed and end offsets of the assigned partitions
        (``ends``' keys); return those stalled: records waiting, and the same committed offset,
        at every look for ``stalled_after_s``. Partitions no longer assigned are forgotten."""
        stalled = []
        seen = {}
        for tp, end in ends.items():
            offset = committed.get(tp)
            waiting = end is not None and end > (offset or 0)
            previous = self._since.get(tp)
            same = previous is not None and previous[:2] == (offset, True)
            since_s = previous[2] if same and waiting and previous is not None else now_s
            seen[tp] = (offset, waiting, since_s)
            if waiting and now_s - since_s >= self.stalled_after_s:
                stalled.append(tp)
        self._since = seen
        return stalled

    @property
    def waiting(self) -> int:
        """Partitions with records waiting at the last look (0 when the worker is caught up)."""
        return sum(1 for _, waiting, _ in self._since.values() if waiting)


class Health:
    """The two pages and the look at progress, for one Faust app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.progress = Progress()
        self._stalled: list[Any] = []

    def sources(self) -> list[Any]:
        """Assigned partitions of the topics the agents read (not a table's changelog, active
        or standby, nor Faust's own leader topic: no counting work there)."""
        try:
            assignment: Iterable[Any] = self.app.consumer.assignment()
        except Exception:  # the consumer is not started yet
            return []
        read = {name for agent in self.app.agents.values() for name in agent.channel.topics}
        return [tp for tp in assignment if tp.topic in read]

    def state(self) -> State:
        stalled = tuple(sorted(f"{tp.topic}[{tp.partition}]" for tp in self._stalled))
        return State(
            rebalances=self.app.rebalancing_count,
            rebalancing=bool(self.app.rebalancing),
            sources=len(self.sources()),
            stalled=stalled,
        )

    async def look(self) -> None:
        if self.app.rebalancing:
            self.progress = Progress(self.progress.stalled_after_s)
            self._stalled = []
            return
        consumer = self.app.consumer
        ends = {}
        for tp in self.sources():
            try:
                ends[tp] = consumer.highwater(tp)
            except Exception:  # not fetched yet
                ends[tp] = None
        self._stalled = self.progress.look(seam.committed_offsets(consumer), ends, time.monotonic())


def install(app: Any) -> Health:
    """Serve ``/healthz`` and ``/readyz`` on ``app``'s web server, and look at the partitions'
    progress every :data:`PROGRESS_INTERVAL_S`."""
    health = Health(app)

    async def healthz(view: Any, request: Any) -> Any:
        """Liveness: answered by the event loop, whatever the worker is doing."""
        return view.json({"alive": True, "rebalancing": bool(app.rebalancing)})

    async def readyz(view: Any, request: Any) -> Any:
        """Readiness: 200 when the worker counts, 503 with the reasons otherwise."""
        state = health.state()
        reasons = not_ready_because(state)
        body = {
            "ready": not reasons,
            "reasons": reasons,
            "partitions": state.sources,
            "waiting": health.progress.waiting,
        }
        return view.json(body, status=503 if reasons else 200)

    app.page(HEALTHZ)(healthz)
    app.page(READYZ)(readyz)
    app.timer(PROGRESS_INTERVAL_S)(health.look)
    return health
