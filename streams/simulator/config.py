"""What the simulator is asked to produce: the date range, the volume and the rates of every kind
of record (normal, duplicate, refund, malformed, ...). Pure data; no behaviour."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

__all__ = ["DEFAULT_END", "DEFAULT_START", "SimConfig"]

#: The default range spans a year end and a Tết (22 Jan 2023): several months, as issue 4 asks.
DEFAULT_START = date(2022, 10, 1)
DEFAULT_END = date(2023, 2, 28)


@dataclass(frozen=True)
class SimConfig:
    """One simulation. Rates are shares of all output records unless said otherwise.

    ``count`` bounds the number of records (None: sized for ``volume_hint`` and stopped by the
    caller, e.g. after ``duration_s`` seconds). ``rate`` (records/s, 0 = as fast as possible) and
    ``duration_s`` (seconds) only concern the output side; the generator itself is timeless.
    """

    start: date = DEFAULT_START
    end: date = DEFAULT_END
    count: int | None = 100_000
    duration_s: float | None = None
    rate: float = 0.0
    provinces: tuple[str, ...] = ("17",)
    seed: int = 1
    scenario: str = "default"
    volume_hint: int = 1_000_000  # records over the range when count is None
    # record kinds (shares of all records)
    duplicate_rate: float = 0.05  # exact re-sends of an earlier record
    reversal_rate: float = 0.02  # refunds and cancellations of a named payment
    malformed_rate: float = 0.01  # records the decoder rejects, every kind
    conflict_rate: float = 0.002  # same transaction id, different payload
    unknown_unit_rate: float = 0.002  # valid events naming a unit unknown on their date
    already_reversed_rate: float = 0.001  # a second reversal of a reversed payment
    invalid_reversal_rate: float = 0.001  # reversal of a refund, or from another dossier
    # shapes (shares of reversals / dossiers)
    early_reversal_share: float = 0.25  # reversals produced before their payment
    cancellation_share: float = 0.3  # of reversals, cancellations (the rest refunds)
    late_share: float = 0.03  # dossiers that arrive 1 to 17 weeks after their time
    midnight_share: float = 0.01  # dossiers within 10 minutes of local midnight
    year_end_share: float = 0.004  # dossiers within 10 minutes of 1 Jan 00:00 (if in range)
    zero_fee_share: float = 0.08  # dossiers of procedures whose fees are all zero
    extras: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"count must be >= 0, got {self.count}")
        if self.rate < 0:
            raise ValueError(f"rate must be >= 0, got {self.rate}")
        if self.fault_share() + self.reversal_rate >= 0.9:
            raise ValueError("fault and reversal rates leave too few payments")
        for name, value in asdict(self).items():
            if name.endswith(("_rate", "_share")) and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")

    def fault_share(self) -> float:
        """Share of records that are not payments or first reversals."""
        return (
            self.duplicate_rate
            + self.malformed_rate
            + self.conflict_rate
            + self.unknown_unit_rate
            + self.already_reversed_rate
            + self.invalid_reversal_rate
        )

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (written into the ground-truth file)."""
        out = asdict(self)
        out.pop("extras")
        out["start"] = self.start.isoformat()
        out["end"] = self.end.isoformat()
        out["provinces"] = list(self.provinces)
        return out
