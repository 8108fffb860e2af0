"""Per-unit KPI metrics, rendered at scrape time from the counters this worker owns.

The stream side gives a *view*: a callable returning ``(unit, period, Counters)`` for every
counter row of the partitions this worker owns right now, so after a rebalance a worker
exposes only its own units and the sum over workers is the truth. Windows are the current
Vietnam year, month and day (``clock`` decides "current"); the ``*_total`` counters sum the
gross fields over all year periods of a unit, so they never go down and ``increase()`` works.

Series of an undefined ratio (nothing to count), of a unit without a target and of an
undefined gap are absent, never 0.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from models.kpi import Counters
from models.periods import VN_TZ
from sinks.exposition import Names, defer
from sinks.unit_directory import UnitDirectory

__all__ = ["FAMILIES", "UNTARGETED", "CountersView", "UnitCollector"]

log = logging.getLogger(__name__)

CountersView = Callable[[], Iterable[tuple[str, str, Counters]]]

WINDOWS: Final = ("year", "month", "day")
_BASE: Final = ("unit", "level", "parent", "province")

#: name, type, extra labels, help. Order is the exposition order.
FAMILIES: Final = (
    ("paywatch_unit_info", "gauge", ("name", "division_type"),
     "Unit metadata (1 per unit owned by this worker); join on unit for names."),
    ("paywatch_unit_online_ratio", "gauge", ("kpi", "window"),
     "Online share in the current Vietnam year/month/day: kpi=transactions (net online "
     "payments / net payments) or dossiers (Decision 766); absent when undefined."),
    ("paywatch_unit_transactions", "gauge", ("window", "channel"),
     "Net payment transactions (payments - reversals) in the current window."),
    ("paywatch_unit_target_ratio", "gauge", (),
     "Online-transaction share target of the unit for the current year (absent if none)."),
    ("paywatch_unit_target_gap_ratio", "gauge", ("kpi", "window"),
     "Year-to-date online share minus the year's target (negative = below target)."),
    ("paywatch_unit_payments_total", "counter", ("channel",),
     "Payments counted for the unit over all periods (gross), by channel online|offline."),
    ("paywatch_unit_reversals_total", "counter", ("channel",),
     "Payments reversed by a refund or cancellation (gross), by channel of the payment."),
    ("paywatch_unit_payments_amount_vnd_total", "counter", ("channel",),
     "Amount of counted payments in VND (gross), by channel."),
    ("paywatch_unit_reversals_amount_vnd_total", "counter", ("channel",),
     "Amount of reversed payments in VND (gross), by channel of the payment."),
)  # fmt: skip

#: Units of this worker with payments in the current year but no target in force, per province
#: (0 for a province whose units all have one): a missing targets file is loud, not silent.
UNTARGETED: Final = (
    "paywatch_units_without_target",
    "Units owned by this worker with payment transactions in the current year but no target "
    "in force for that year (a targets file or entry missing), per province.",
)

_ZERO: Final = (0, 0, 0, 0, 0, 0)


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


@dataclass(slots=True)
class _Row:
    windows: list[tuple[int, int, int, int, int, int]] = field(
        default_factory=lambda: [_ZERO, _ZERO, _ZERO]
    )
    # paid online, paid offline, reversed online, reversed offline, then the same for amounts
    totals: list[int] = field(default_factory=lambda: [0] * 8)


_gc_lock = threading.Lock()
_gc_depth = 0
_gc_state = [True]  # whether the GC was enabled when the outermost pause began


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while a scrape allocates ~100k short-lived objects (it would run
    dozens of collections over the whole process for nothing); nests across threads."""
    global _gc_depth
    with _gc_lock:
        _gc_depth += 1
        if _gc_depth == 1:
            was_enabled = gc.isenabled()
            gc.disable()
            _gc_state[0] = was_enabled
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_state[0]:
                gc.enable()


def _gap(online: int, total: int, target: Fraction) -> float:
    """``online/total - target`` exactly in integers, rounded once to a float."""
    num, den = target.numerator, target.denominator
    return (online * den - num * total) / (total * den)


class UnitCollector(Collector):
    """The per-unit families of :data:`FAMILIES`; register it on the worker's registry."""

    def __init__(
        self,
        view: CountersView,
        directory: UnitDirectory,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.view = view
        self.directory = directory
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[object, tuple[bytes, ...]]] = {}
        self._labels: dict[str, tuple[str, str, Fraction | None, str]] = {}
        self._cache_day: date | None = None
        self._untargeted_told: set[tuple[str, int]] = set()

    # -- prometheus_client Collector ---------------------------------------------------------
    def describe(self) -> list[GaugeMetricFamily | CounterMetricFamily]:
        out: list[GaugeMetricFamily | CounterMetricFamily] = []
        for name, kind, _labels, doc in FAMILIES:
            cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            out.append(cls(name, doc))
        out.append(GaugeMetricFamily(*UNTARGETED))
        return out

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        if defer(self):
            return iter(())
        text = b"".join(self.prepare()()).decode()
        families = []
        for parsed in text_string_to_metric_families(text):
            cls = CounterMetricFamily if parsed.type == "counter" else GaugeMetricFamily
            family = cls(parsed.name, parsed.documentation)
            family.samples = [Sample(s.name, s.labels, s.value) for s in parsed.samples]
            families.append(family)
        return iter(families)

    # -- the fast path (sinks.exposition) ------------------------------------------------------
    def prepare(self, names: Names = None) -> Callable[[], list[bytes]]:
        today = self.clock().astimezone(VN_TZ).date()
        with gc_paused():
            rows = self._snapshot(today)

        def render() -> list[bytes]:
            with gc_paused():
                return self._render(rows, today, names)

        return render

    def _snapshot(self, today: date) -> dict[str, _Row]:
        day = today.isoformat()
        keys = {day[:4]: 0, day[:7]: 1, day: 2}
        rows: dict[str, _Row] = {}
        for unit, period, c in self.view():
            slot = keys.get(period)
            is_year = len(period) == 4
            if slot is None and not is_year:
                continue  # another month or day: not shown
            row = rows.get(unit)
            if row is None:
                row = rows[unit] = _Row()
            if slot is not None:
                row.windows[slot] = (
                    c.paid_online - c.reversed_online,
                    c.paid - c.reversed,
                    c.paid_online_amount - c.reversed_online_amount,
                    c.paid_amount - c.reversed_amount,
                    c.dossiers_online,
                    c.dossiers,
                )
            if is_year:
                t = row.totals
                t[0] += c.paid_online
                t[1] += c.paid - c.paid_online
                t[2] += c.reversed_online
                t[3] += c.reversed - c.reversed_online
                t[4] += c.paid_online_amount
                t[5] += c.paid_amount - c.paid_online_amount
                t[6] += c.reversed_online_amount
                t[7] += c.reversed_amount - c.reversed_online_amount
        return rows

    def _label(self, unit: str, today: date) -> tuple[str, str, Fraction | None, str]:
        """(base labels, info labels, target, province) of a unit as of ``today``, cached for
        the day."""
        cached = self._labels.get(unit)
        if cached is None:
            i = self.directory.info(unit, today)
            base = (
                f'unit="{_escape(unit)}",level="{_escape(i.level)}",'
                f'parent="{_escape(i.parent)}",province="{_escape(i.province)}"'
            )
            info = f'{base},name="{_escape(i.name)}",division_type="{_escape(i.division_type)}"'
            target = self.directory.target(unit, today.year)
            cached = self._labels[unit] = (base, info, target, i.province)
        return cached

    def _render(self, rows: dict[str, _Row], today: date, names: Names) -> list[bytes]:
        """The families' text (those named in ``names``, if given). Each unit's lines are
        cached as bytes with the inputs they came from, so a scrape formats only the units that
        changed since the last one."""
        with self._lock:
            if self._cache_day != today:  # labels and targets are per day / per year
                self._cache = {}
                self._labels = {}
                self._cache_day = today
            old = self._cache
            cache: dict[str, tuple[object, tuple[bytes, ...]]] = {}
            untargeted: dict[str, list[str]] = {}
            for unit in sorted(rows):
                row = rows[unit]
                base, info, target, province = self._label(unit, today)
                if target is None:
                    untargeted.setdefault(province, [])
                    if row.windows[0][1]:  # net payment transactions this year
                        untargeted[province].append(unit)
                elif province not in untargeted:
                    untargeted[province] = []
                key = (row.windows, row.totals)
                hit = old.get(unit)
                if hit is None or hit[0] != key:
                    hit = (key, _unit_chunks(base, info, target, row))
                cache[unit] = hit
            self._cache = cache
        out: list[bytes] = []
        for k, (name, kind, _labels, doc) in enumerate(FAMILIES):
            if names is None or name in names:
                out.append(f"# HELP {name} {doc}\n# TYPE {name} {kind}\n".encode())
                out.extend(chunks[k] for _key, chunks in cache.values())
        untargeted_text = self._untargeted(untargeted, today.year)
        if names is None or UNTARGETED[0] in names:
            out.append(untargeted_text)
        return out

    def _untargeted(self, units: dict[str, list[str]], year: int) -> bytes:
        """The :data:`UNTARGETED` family; the first time a province has such units in a year,
        a warning in the log too (unit codes only)."""
        name, doc = UNTARGETED
        text = f"# HELP {name} {doc}\n# TYPE {name} gauge\n"
        for province, codes in sorted(units.items()):
            text += f'{name}{{province="{_escape(province)}",year="{year}"}} {len(codes)}\n'
            if codes and (province, year) not in self._untargeted_told:
                self._untargeted_told.add((province, year))
                log.warning(
                    "%d units of province %s have payments in %d but no target in force "
                    "(e.g. %s): add %d.yaml to PAYWATCH_TARGETS_DIR (or the units' entries) "
                    "and restart the worker",
                    len(codes),
                    province,
                    year,
                    ", ".join(codes[:5]),
                    year,
                )
        return text.encode()


def _unit_chunks(base: str, info: str, target: Fraction | None, row: _Row) -> tuple[bytes, ...]:
    """One unit's lines of each family of :data:`FAMILIES`, in that order."""
    (ty, tay, _, _, dy, day), (tm, tam, *_), (td, tad, *_) = row.windows
    ratio = ""
    for window, (t_on, t_all, _, _, d_on, d_all) in zip(WINDOWS, row.windows, strict=True):
        if t_all:
            ratio += (
                f'paywatch_unit_online_ratio{{{base},kpi="transactions",window="{window}"}} '
                f"{t_on / t_all!r}\n"
            )
        if d_all:
            ratio += (
                f'paywatch_unit_online_ratio{{{base},kpi="dossiers",window="{window}"}} '
                f"{d_on / d_all!r}\n"
            )
    n = "paywatch_unit_transactions{" + base
    tx = (
        f'{n},window="year",channel="online"}} {ty}\n{n},window="year",channel="all"}} {tay}\n'
        f'{n},window="month",channel="online"}} {tm}\n{n},window="month",channel="all"}} {tam}\n'
        f'{n},window="day",channel="online"}} {td}\n{n},window="day",channel="all"}} {tad}\n'
    )
    target_s = gap = ""
    if target is not None:
        target_s = f"paywatch_unit_target_ratio{{{base}}} {float(target)!r}\n"
        g = f"paywatch_unit_target_gap_ratio{{{base}"
        if tay:
            gap += f'{g},kpi="transactions",window="year"}} {_gap(ty, tay, target)!r}\n'
        if day:
            gap += f'{g},kpi="dossiers",window="year"}} {_gap(dy, day, target)!r}\n'
    p0, p1, r0, r1, pa0, pa1, ra0, ra1 = row.totals
    n = "{" + base
    return (
        f"paywatch_unit_info{{{info}}} 1\n".encode(),
        ratio.encode(),
        tx.encode(),
        target_s.encode(),
        gap.encode(),
        f'paywatch_unit_payments_total{n},channel="online"}} {p0}\n'
        f'paywatch_unit_payments_total{n},channel="offline"}} {p1}\n'.encode(),
        f'paywatch_unit_reversals_total{n},channel="online"}} {r0}\n'
        f'paywatch_unit_reversals_total{n},channel="offline"}} {r1}\n'.encode(),
        f'paywatch_unit_payments_amount_vnd_total{n},channel="online"}} {pa0}\n'
        f'paywatch_unit_payments_amount_vnd_total{n},channel="offline"}} {pa1}\n'.encode(),
        f'paywatch_unit_reversals_amount_vnd_total{n},channel="online"}} {ra0}\n'
        f'paywatch_unit_reversals_amount_vnd_total{n},channel="offline"}} {ra1}\n'.encode(),
    )
