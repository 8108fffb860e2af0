"""Redis key schema v1 of the live view, and the hash fields of one (unit, period).

Every key lives under ``{prefix}:v1:``; see .notes/readme-sinks.md for an example of each.
Everything written is an absolute value computed from the counters alone (and the target and
the date of the write, for the projection), so writing the same counters twice leaves the
same state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from fractions import Fraction
from typing import Final

from models.kpi import COUNTER_FIELDS, Counters, Kpi, gap_to_target, project
from models.periods import period_kind

__all__ = [
    "COUNTER_FIELDS",
    "OPTIONAL_FIELDS",
    "RANKED",
    "SCHEMA_VERSION",
    "Keys",
    "fmt_ratio",
    "kpi_fields",
]

SCHEMA_VERSION: Final = 1


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


def kpi_fields(
    counters: Counters, period: str, target: Fraction | None, today: date, updated_at: str
) -> dict[str, str]:
    """Every defined field of ``kpi:{code}:{period}``; fields left out are undefined."""
    out = {name: str(getattr(counters, name)) for name in COUNTER_FIELDS}
    out["transactions"] = str(counters.transactions)
    out["transactions_online"] = str(counters.transactions_online)
    out["amount"] = str(counters.amount)
    out["amount_online"] = str(counters.amount_online)
    for name, get in RANKED.items():
        value = get(counters)
        if value is not None:
            out[f"ratio_{name}"] = fmt_ratio(value)
    out["updated_at"] = updated_at
    if target is None:
        return out
    out["target"] = fmt_ratio(target)
    on = _projection_day(period, today) if period_kind(period) == "year" else None
    for kpi, suffix in _SUFFIX.items():
        gap = gap_to_target(counters.ratio(kpi), target)
        if gap is None:
            continue
        out[f"gap{suffix}"] = fmt_ratio(gap)
        out[f"on_track{suffix}"] = "1" if gap >= 0 else "0"
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
