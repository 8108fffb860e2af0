"""The kpi hash fields are exactly those of the plain Fraction arithmetic (pure, no Redis).

``kpi_fields`` computes ratios and gaps with integer division for speed; this checks it field
for field, value for value and in the same order against the straightforward definition."""

from __future__ import annotations

import random
from datetime import date
from fractions import Fraction

import pytest

from models.kpi import COUNTER_FIELDS, Counters, Kpi, gap_to_target, project
from models.periods import period_kind
from sinks.redis_schema import RANKED, fmt_ratio, kpi_fields


def reference(
    counters: Counters, period: str, target: Fraction | None, today: date, updated_at: str
) -> dict[str, str]:
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
    on = None
    if period_kind(period) == "year":
        year = int(period)
        on = date(year, 12, 31) if year < today.year else today if year == today.year else None
    for kpi, suffix in ((Kpi.TRANSACTIONS, ""), (Kpi.DOSSIERS, "_dossiers")):
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


TARGETS = [None, Fraction(0), Fraction(3, 10), Fraction(2, 5), Fraction(1, 3), Fraction(1),
           Fraction(7, 9), Fraction(123456789, 1000000007)]  # fmt: skip
PERIODS = ["2022", "2021", "2023", "2022-03", "2022-03-15", "2022-12-31"]


@pytest.mark.parametrize("seed", range(4))
def test_fields_equal_the_fraction_definition_value_and_order(seed: int) -> None:
    rng = random.Random(seed)
    today = date(2022, 3, 15) if seed % 2 else date(2022, 12, 31)
    for n in range(5000):
        big = 10 ** rng.choice((1, 3, 9, 18))
        values = [rng.randint(0, big) for _ in COUNTER_FIELDS]
        if n % 3 == 0:  # a reversal in its own period: net counts below zero
            values[4:8] = [v + rng.randint(0, big) for v in values[4:8]]
        if n % 7 == 0:  # nothing online, or all of it
            values[1], values[3] = (0, 0) if n % 2 else (values[0], values[2])
        if n % 11 == 0:  # equal to the target exactly
            values = [10, 3, 10, 3, 0, 0, 0, 0, 5, 2]
        counters = Counters(*values)
        for target in (rng.choice(TARGETS), Fraction(3, 10)):
            period = rng.choice(PERIODS)
            got = kpi_fields(counters, period, target, today, "2022-03-15T03:00:00.000Z")
            want = reference(counters, period, target, today, "2022-03-15T03:00:00.000Z")
            assert list(got.items()) == list(want.items()), (counters, period, target)
