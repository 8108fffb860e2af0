"""The table `paywatch status` prints: fits 80 columns (long names are cut, not wrapped)."""

from __future__ import annotations

from datetime import datetime

from rich import box
from rich.table import Table
from rich.text import Text

from models.periods import VN_TZ
from sinks.live_reader import Freshness
from streams.status import UnitStatus, caption

_TREND_ARROWS = {"up": "↑", "down": "↓", "flat": "→", "": ""}
_WHAT = {
    "transactions": "payment transactions",
    "dossiers": "fee-bearing dossiers (Decision 766)",
    "amount": "amount paid, VND",
}


def _percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}"


def compact_vnd(amount: int) -> str:
    """An amount of VND in at most 6 characters: 950, 48k, 1.3M, 27.5M, 1.24B (B: tỷ, 10⁹)."""
    size = abs(amount)
    if size < 1_000:
        return str(amount)
    for scale, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if size >= scale:
            value = amount / scale
            digits = 2 if abs(value) < 10 and suffix == "B" else 1 if abs(value) < 100 else 0
            return f"{value:.{digits}f}{suffix}"
    raise AssertionError("unreachable")


def _figures(row: UnitStatus) -> str:
    if row.kpi == "amount":
        return f"{compact_vnd(row.online)}/{compact_vnd(row.total)}"
    return f"{row.online}/{row.total}"


def status_table(
    rows: list[UnitStatus], kpi: str, scope: str, freshness: Freshness, now: datetime | None = None
) -> Table:
    table = Table(
        title=f"paywatch — online share of {_WHAT[kpi]}, {scope}",
        caption=caption(freshness, now or datetime.now(VN_TZ)),
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )
    figures = "VND online/all" if kpi == "amount" else "online/all"
    for header in ("rank", "code", "unit", "ratio%", "target%", "gap pp", "trend", figures):
        if header == "unit":  # the one column that gives way (its names are cut, not wrapped)
            table.add_column(header, min_width=12)
        else:
            left = header == "code"
            table.add_column(
                header,
                justify="left" if left else "center" if header == "trend" else "right",
                no_wrap=True,
                min_width=len(header),
            )
    for row in rows:
        table.add_row(
            "—" if row.rank is None else f"{row.rank}/{row.ranked}",
            row.code,
            Text(row.name, no_wrap=True, overflow="ellipsis"),
            _percent(row.ratio),
            _percent(row.target),
            _percent(row.gap, signed=True),
            _TREND_ARROWS[row.trend],
            _figures(row),
        )
    return table
