"""Redis key schema v1 of the live view, and the hash fields of one (unit, period).

Every key lives under ``{prefix}:v1:``; docs/live-view.md ("Redis key schema v1") shows each.
Everything written is an absolute value computed from the counters alone (and the target and
the date of the write, for the projection), so writing the same counters twice leaves the
same state.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import date
from fractions import Fraction
from typing import Final

from models.kpi import COUNTER_FIELDS, Counters, Kpi, project
from models.periods import period_kind

__all__ = [
    "COUNTER_FIELDS",
    "GENERATION_FIELD",
    "OPTIONAL_FIELDS",
    "RANKED",
    "SCHEMA_VERSION",
    "Keys",
    "fmt_ratio",
    "kpi_fields",
]

SCHEMA_VERSION: Final = 1

#: Field of the meta hash that names the Redis dataset the view was written into: a random id
#: created (HSETNX) by the first writer that finds it missing. Redis loses it with everything
#: else, so a different or missing id tells every writer to write all its rows again.
GENERATION_FIELD: Final = "generation"


#: Ranked KPIs: the name in the ranking key and how to get the ratio.
RANKED: Final[Mapping[str, Callable[[Counters], Fraction | None]]] = {
    "transactions": lambda c: c.transaction_ratio,
    "amount": lambda c: c.amount_ratio,
    "dossiers": lambda c: c.dossier_ratio,
}

#: Fields that are absent from a kpi hash when undefined (so a writer deletes them then).
_TARGET_FIELDS: Final = ("target",)
_PER_KPI: Final = (
    "gap",
    "on_track",
    "projected_total",
    "required_rest_ratio",
    "reachable",
)
_SUFFIX: Final = {Kpi.TRANSACTIONS: "", Kpi.DOSSIERS: "_dossiers"}
_counter_values: Final = operator.attrgetter(*COUNTER_FIELDS)
OPTIONAL_FIELDS: Final = (
    "ratio_transactions",
    "ratio_amount",
    "ratio_dossiers",
    *_TARGET_FIELDS,
    *(f"{name}{suffix}" for suffix in _SUFFIX.values() for name in _PER_KPI),
    "projection_on",
)


class Keys:
    """Key names under ``{prefix}:v1:``."""

    def __init__(self, prefix: str) -> None:
        self.base = f"{prefix}:v1:"
        self.meta = f"{self.base}meta"
        self.changes = f"{self.base}changes"

    def unit(self, code: str) -> str:
        return f"{self.base}unit:{code}"

    def kpi(self, code: str, period: str) -> str:
        return f"{self.base}kpi:{code}:{period}"

    def rank(self, level: str, scope: str, period: str, kpi: str) -> str:
        return f"{self.base}rank:{level}:{scope}:{period}:{kpi}"

    def periods(self, code: str) -> str:
        return f"{self.base}periods:{code}"


def fmt_ratio(value: Fraction) -> str:
    """A ratio as the shortest decimal that reads back as the same float."""
    return repr(float(value))


def _projection_day(period: str, today: date) -> date | None:
    """The day a year period is projected from: today in the current year, 31 Dec before."""
    year = int(period)
    if year < today.year:
        return date(year, 12, 31)
    if year == today.year:
        return today
    return None


def _share(part: int, whole: int) -> str:
    """``fmt_ratio(Fraction(part, whole))`` for ``whole != 0``, without the Fraction: int / int
    is correctly rounded, so it is the same float (but 0 / -n is -0.0; a Fraction's 0 is 0.0)."""
    return repr(part / whole) if part else "0.0"


def kpi_fields(
    counters: Counters, period: str, target: Fraction | None, today: date, updated_at: str
) -> dict[str, str]:
    """Every defined field of ``kpi:{code}:{period}``; fields left out are undefined."""
    (paid, paid_online, paid_amount, paid_online_amount, rev, rev_online, rev_amount,
     rev_online_amount, dossiers, dossiers_online) = _counter_values(counters)  # fmt: skip
    transactions = paid - rev
    transactions_online = paid_online - rev_online
    amount = paid_amount - rev_amount
    amount_online = paid_online_amount - rev_online_amount
    out = {
        "paid": str(paid),
        "paid_online": str(paid_online),
        "paid_amount": str(paid_amount),
        "paid_online_amount": str(paid_online_amount),
        "reversed": str(rev),
        "reversed_online": str(rev_online),
        "reversed_amount": str(rev_amount),
        "reversed_online_amount": str(rev_online_amount),
        "dossiers": str(dossiers),
        "dossiers_online": str(dossiers_online),
        "transactions": str(transactions),
        "transactions_online": str(transactions_online),
        "amount": str(amount),
        "amount_online": str(amount_online),
    }
    if transactions:
        out["ratio_transactions"] = _share(transactions_online, transactions)
    if amount:
        out["ratio_amount"] = _share(amount_online, amount)
    if dossiers:
        out["ratio_dossiers"] = _share(dossiers_online, dossiers)
    out["updated_at"] = updated_at
    if target is None:
        return out
    out["target"] = fmt_ratio(target)
    on = _projection_day(period, today) if period_kind(period) == "year" else None
    t_num, t_den = target.numerator, target.denominator
    for kpi, suffix, online, total in (
        (Kpi.TRANSACTIONS, "", transactions_online, transactions),
        (Kpi.DOSSIERS, "_dossiers", dossiers_online, dossiers),
    ):
        if not total:
            continue
        # gap = online/total - target = num/den exactly (t_den > 0; total may be negative)
        num, den = online * t_den - t_num * total, total * t_den
        out[f"gap{suffix}"] = _share(num, den)
        out[f"on_track{suffix}"] = "1" if num == 0 or (num > 0) == (den > 0) else "0"
        if on is None:
            continue
        projection = project(counters, kpi, target, on)
        if projection is None:
            continue
        out["projection_on"] = on.isoformat()
        out[f"projected_total{suffix}"] = fmt_ratio(projection.projected_total)
        if projection.required_rest_ratio is not None:
            out[f"required_rest_ratio{suffix}"] = fmt_ratio(projection.required_rest_ratio)
        out[f"reachable{suffix}"] = "1" if projection.reachable else "0"
    return out
