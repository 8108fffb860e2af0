"""In-process counts and change listeners: the hook the sinks part (Redis, Prometheus) plugs
into. Nothing here does I/O."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

#: A changed counter row: (unit code, period key, its ten counter values in the order of
#: models.kpi.COUNTER_FIELDS). Listeners must not keep the sequence itself (copy what they keep).
ChangedRow = tuple[str, str, Sequence[int]]
#: Called with the rows a step changed, once per step, after they were stored.
Listener = Callable[[list[ChangedRow]], object]


@dataclass
class Stats:
    """Simple counts since this process started (not persisted; for metrics)."""

    events: int = 0  # raw records read from `payments` (and rerouted ones)
    duplicates: int = 0  # the same event sent again by its source
    replayed: int = 0  # the same record read again after a restart (not a duplicate)
    facts: int = 0  # counted payments / reversals forwarded to the dossier stage
    deltas_applied: int = 0  # unit deltas (one per message and unit) added to one row or more
    deltas_replayed: int = 0  # unit deltas every row of which had them (the idempotence marks)
    out_of_order: int = 0  # events dropped to be read again in order (rebalances)
    dead_letters: Counter[str] = field(default_factory=Counter)  # by reason
    quarantined: Counter[str] = field(default_factory=Counter)  # by agent (crash-loop guard)
    #: (event time, Kafka record time, counted at), epoch seconds, for the delay histograms;
    #: bounded, drained by the metrics side every second.
    delays: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=100_000))

    def counted(self, event_time_s: float, record_time_s: float) -> None:
        """A payment reached the counters: its unit's rows are stored with it."""
        self.delays.append((event_time_s, record_time_s, time.time()))

    def as_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "duplicates": self.duplicates,
            "replayed": self.replayed,
            "facts": self.facts,
            "deltas_applied": self.deltas_applied,
            "deltas_replayed": self.deltas_replayed,
            "out_of_order": self.out_of_order,
            "dead_letters": dict(self.dead_letters),
            "quarantined": dict(self.quarantined),
        }


class Listeners:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def add(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def notify(self, changed: list[ChangedRow]) -> None:
        for listener in self._listeners:
            listener(changed)
