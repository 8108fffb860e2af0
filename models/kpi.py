"""KPI arithmetic on the counters of one (unit, period): ratios, gap to target, projection.

Two definitions of the online share are supported, and named by :class:`Kpi`:

* ``Kpi.TRANSACTIONS`` — the seed's: online payment **transactions** / all payment
  transactions of public services (net of reversals). Hòa Bình province set 30% for
  2022 for its departments and district People's Committees; the 2023 national action
  plan also aimed at about 30% of all public-service payment transactions online.
* ``Kpi.DOSSIERS`` — Decision 766/QĐ-TTg of 23 June 2022 (the service-quality index
  scored on real-time data), online-payment indicator: dossiers paid online (portal or
  ministry/provincial gateway) / dossiers of fee-bearing procedures, leaving out
  dossiers whose fees are all zero. The unit of count is the **dossier**.

With nothing to count a ratio is *undefined*: every ratio here is ``Fraction | None``
and never 0 or 1 by default. All arithmetic is exact (:class:`fractions.Fraction`).
"""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, fields
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import Final

__all__ = [
    "COUNTER_FIELDS",
    "TREND_THRESHOLD",
    "Counters",
    "Kpi",
    "Projection",
    "gap_to_target",
    "project",
    "ratio",
]


#: How far a unit's newest month (or day) must move away from its whole period's share to count
#: as a trend up or down (`paywatch status`, the dashboard).
TREND_THRESHOLD: Final = 0.005


class Kpi(StrEnum):
    TRANSACTIONS = "transactions"  # the seed: online payment transactions / all transactions
    DOSSIERS = "dossiers"  # Decision 766/QĐ-TTg (2022): fee-bearing dossiers paid online


def ratio(part: int, whole: int) -> Fraction | None:
    """``part / whole`` exactly, or None when ``whole`` is 0 (undefined, not 0)."""
    if whole == 0:
        return None
    return Fraction(part, whole)


@dataclass
class Counters:
    """Counts for one (unit, period); see docs/counting-rules.md.

    ``paid*`` and ``reversed*`` are gross and never decrease; ``dossiers*`` are net
    Decision 766 counts. Net figures are properties.
    """

    paid: int = 0
    paid_online: int = 0
    paid_amount: int = 0
    paid_online_amount: int = 0
    reversed: int = 0
    reversed_online: int = 0
    reversed_amount: int = 0
    reversed_online_amount: int = 0
    dossiers: int = 0
    dossiers_online: int = 0

    # -- net figures ------------------------------------------------------------------
    @property
    def transactions(self) -> int:
        """Net payment transactions: paid - reversed."""
        return self.paid - self.reversed

    @property
    def transactions_online(self) -> int:
        """Net online payment transactions: paid_online - reversed_online."""
        return self.paid_online - self.reversed_online

    @property
    def amount(self) -> int:
        """Net amount in VND: paid_amount - reversed_amount."""
        return self.paid_amount - self.reversed_amount

    @property
    def amount_online(self) -> int:
        """Net online amount in VND: paid_online_amount - reversed_online_amount."""
        return self.paid_online_amount - self.reversed_online_amount

    # -- ratios -----------------------------------------------------------------------
    @property
    def transaction_ratio(self) -> Fraction | None:
        """The seed KPI: net online transactions / net transactions (None if none)."""
        return ratio(self.transactions_online, self.transactions)

    @property
    def amount_ratio(self) -> Fraction | None:
        """Net online amount / net amount (None if the net amount is 0)."""
        return ratio(self.amount_online, self.amount)

    @property
    def dossier_ratio(self) -> Fraction | None:
        """Decision 766 KPI: dossiers paid online / fee-bearing dossiers (None if none)."""
        return ratio(self.dossiers_online, self.dossiers)

    def counts(self, kpi: Kpi) -> tuple[int, int]:
        """``(online, total)`` for a KPI definition."""
        if kpi is Kpi.TRANSACTIONS:
            return self.transactions_online, self.transactions
        return self.dossiers_online, self.dossiers

    def ratio(self, kpi: Kpi) -> Fraction | None:
        """The online share for a KPI definition (None when the total is 0)."""
        online, total = self.counts(kpi)
        return ratio(online, total)

    # -- plumbing ---------------------------------------------------------------------
    def __add__(self, other: Counters) -> Counters:
        return Counters(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in _FIELDS})

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> Counters:
        """From :meth:`to_dict` output; missing fields are 0, unknown keys are an error."""
        unknown = set(data) - _NAMES
        if unknown:
            raise ValueError(f"unknown counter fields {sorted(unknown)}")
        return cls(**data)


_FIELDS = fields(Counters)
_NAMES = frozenset(f.name for f in _FIELDS)


def gap_to_target(value: Fraction | None, target: Fraction | None) -> Fraction | None:
    """``value - target`` (negative = below target); None if either is undefined."""
    if value is None or target is None:
        return None
    return value - target


@dataclass(frozen=True)
class Projection:
    """Where a unit's year is heading, from its year-to-date counts (see :func:`project`).

    * ``ratio`` — the year-to-date online share.
    * ``on_track`` — ``ratio >= target``: if the year continues at the same pace (same
      volume per day and same online share) the year-end share equals ``ratio``.
    * ``required_rest_ratio`` — the online share needed over the rest of the year for the
      year-end share to reach the target, assuming the total volume keeps its
      year-to-date daily pace. ``<= 0`` means the target is already secured; ``> 1``
      means it can no longer be reached at that volume. None on the last day of the year.
    * ``reachable`` — ``required_rest_ratio <= 1`` (or, on the last day, ``on_track``).
    """

    kpi: Kpi
    on: date
    target: Fraction
    ratio: Fraction
    gap: Fraction
    days_elapsed: int
    days_in_year: int
    projected_total: Fraction
    required_rest_ratio: Fraction | None
    on_track: bool
    reachable: bool


def project(counters: Counters, kpi: Kpi, target: Fraction, on: date) -> Projection | None:
    """Project year-to-date ``counters`` (1 Jan .. ``on`` inclusive) to 31 December.

    Let T and O be the year-to-date total and online counts, e the days elapsed
    (``on`` included) and D the days in the year. At the year-to-date pace the year's
    total is T·D/e, so the rest of the year brings R = T·(D−e)/e more; reaching the
    target needs ``target·T·D/e − O`` of them online, a share of
    ``(target·T·D − O·e) / (T·(D−e))``.

    None when the total is 0 (the ratio is undefined, so is the projection).
    """
    online, total = counters.counts(kpi)
    if total <= 0:
        return None
    current = Fraction(online, total)
    days_in_year = 366 if calendar.isleap(on.year) else 365
    days_elapsed = on.timetuple().tm_yday
    projected_total = Fraction(total * days_in_year, days_elapsed)
    on_track = current >= target
    if days_elapsed >= days_in_year:
        required: Fraction | None = None
        reachable = on_track
    else:
        required = (target * total * days_in_year - online * days_elapsed) / (
            total * (days_in_year - days_elapsed)
        )
        reachable = required <= 1
    return Projection(
        kpi=kpi,
        on=on,
        target=target,
        ratio=current,
        gap=current - target,
        days_elapsed=days_elapsed,
        days_in_year=days_in_year,
        projected_total=projected_total,
        required_rest_ratio=required,
        on_track=on_track,
        reachable=reachable,
    )


#: The ten counter fields, in storage order (the order of :class:`Counters`).
COUNTER_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(Counters))
