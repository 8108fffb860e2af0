"""`paywatch report`: a month's or a year's figures for a province, from the Redis live view.

Two files for a People's Committee meeting: a CSV of every unit (counts, amounts, both KPI
ratios, target, gap) and a PNG chart of each district's and department's ratio against its
target.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from models.periods import period_kind
from models.registry import Level, Registry
from sinks.units import period_start
from streams.status import LiveView

CSV_COLUMNS = (
    "code",
    "name",
    "level",
    "parent",
    "transactions",
    "transactions_online",
    "amount",
    "amount_online",
    "dossiers",
    "dossiers_online",
    "ratio_transactions",
    "ratio_amount",
    "ratio_dossiers",
    "target",
    "gap",
    "on_track",
)
_LEVEL_ORDER = {Level.PROVINCE: 0, Level.DEPARTMENT: 1, Level.DISTRICT: 2, Level.COMMUNE: 3}


@dataclass(frozen=True)
class ReportFiles:
    csv: Path
    chart: Path
    units: int


def report_rows(
    view: LiveView, registry: Registry, province: str, period: str
) -> list[dict[str, str]]:
    """One row per unit of the province in force at the period's start (empty cells: no data)."""
    if period_kind(period) == "day":
        raise ValueError(f"period {period!r}: a report covers a month (2022-03) or a year (2022)")
    on = period_start(period)
    units = sorted(
        registry.units(province=province, on=on),
        key=lambda u: (_LEVEL_ORDER[u.level], u.code),
    )
    rows = []
    for unit in units:
        fields = view.kpi(unit.code, period)
        row = {column: fields.get(column, "") for column in CSV_COLUMNS}
        row.update(
            code=unit.code,
            name=unit.name,
            level=unit.level.value,
            parent=registry.parent(unit.code, on) or "",
        )
        rows.append(row)
    return rows


def write_csv(rows: list[dict[str, str]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def write_chart(rows: list[dict[str, str]], title: str, path: Path) -> None:
    """Horizontal bars: each district's and department's ratio, its target as a marker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if r["level"] in {Level.DISTRICT.value, Level.DEPARTMENT.value}]
    labels = [f"{r['name']} ({r['code']})" for r in shown]
    ratios = [
        float(r["ratio_transactions"]) * 100 if r["ratio_transactions"] else 0.0 for r in shown
    ]
    targets = [float(r["target"]) * 100 if r["target"] else None for r in shown]
    colors = [
        "#9e9e9e"
        if not r["ratio_transactions"]
        else "#2e7d32"
        if r["on_track"] == "1"
        else "#c62828"
        for r in shown
    ]
    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.35 * len(shown) + 1.5)))
    positions = list(range(len(shown)))
    ax.barh(positions, ratios, color=colors)
    for y, target in zip(positions, targets, strict=True):
        if target is not None:
            ax.plot([target, target], [y - 0.4, y + 0.4], color="black", linewidth=2)
    ax.set_yticks(positions, labels=labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("online share of payment transactions, % (black mark: target; grey: no data)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(
    view: LiveView,
    registry: Registry,
    province: str,
    period: str,
    out_dir: Path,
) -> ReportFiles:
    rows = report_rows(view, registry, province, period)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"paywatch-{province}-{period}"
    files = ReportFiles(stem.with_suffix(".csv"), stem.with_suffix(".png"), len(rows))
    write_csv(rows, files.csv)
    name = registry.name(province, period_start(period)) or province
    write_chart(rows, f"{name}: online share by district and department, {period}", files.chart)
    return files
