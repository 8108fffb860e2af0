"""`paywatch report`: a month's or a year's figures for a province, from the Redis live view.

Two files for a People's Committee meeting: a CSV of every unit (counts, amounts, both KPI
ratios, target, gap; UTF-8 with a byte-order mark, so Excel shows the Vietnamese names) and a
PNG chart of each district's and department's ratio against its target, with the time it was
made. A period the live view holds nothing for is an error, not a pair of empty files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from models.periods import VN_TZ, period_kind, period_start
from models.registry import Level, Registry
from sinks.live_reader import LiveReader
from streams.status import caption

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


class ReportError(Exception):
    """The live view holds nothing for the period; the message says what it does hold."""


@dataclass(frozen=True)
class ReportFiles:
    csv: Path
    chart: Path
    units: int


async def report_rows(
    view: LiveReader, registry: Registry, province: str, period: str
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
        fields = await view.kpi(unit.code, period)
        row = {column: fields.get(column, "") for column in CSV_COLUMNS}
        row.update(
            code=unit.code,
            name=unit.name,
            level=unit.level.value,
            parent=registry.parent(unit.code, on) or "",
        )
        rows.append(row)
    if not any(row["transactions"] for row in rows):
        held = sorted(
            p for p in (await view.periods([province]))[province] if period_kind(p) != "day"
        )
        raise ReportError(
            f"no data for province {province} in {period} in the live view "
            f"(it holds {', '.join(held[:24]) if held else 'nothing for this province'}); "
            "give another PERIOD, or backfill with `paywatch replay FILE`"
        )
    return rows


def write_csv(rows: list[dict[str, str]], path: Path) -> None:
    # utf-8-sig: the byte-order mark tells Excel the file is UTF-8 (else it garbles "Hòa Bình")
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def write_chart(rows: list[dict[str, str]], title: str, footer: str, path: Path) -> None:
    """Horizontal bars: each district's and department's ratio (its value written at the bar's
    end), its target as a black mark; a unit without data is a pale grey bar saying so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if r["level"] in {Level.DISTRICT.value, Level.DEPARTMENT.value}]
    labels = [f"{r['name']} ({r['code']})" for r in shown]
    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.35 * len(shown) + 1.8)))
    for y, row in enumerate(shown):
        if not row["ratio_transactions"]:
            ax.barh(y, 100, color="#e0e0e0")
            ax.text(1, y, "no data", va="center", fontsize=7, color="#616161")
            continue
        ratio = float(row["ratio_transactions"]) * 100
        color = "#2e7d32" if row["on_track"] == "1" else "#c62828" if row["target"] else "#1565c0"
        ax.barh(y, ratio, color=color)
        inside = ratio > 88
        ax.text(
            ratio - 1 if inside else ratio + 1,
            y,
            f"{ratio:.1f}%",
            va="center",
            ha="right" if inside else "left",
            fontsize=7,
            color="white" if inside else "black",
        )
        if row["target"]:
            target = float(row["target"]) * 100
            ax.plot([target, target], [y - 0.4, y + 0.4], color="black", linewidth=2)
    positions = list(range(len(shown)))
    ax.set_yticks(positions, labels=labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(
        "online share of payment transactions, %\n"
        "green: on target, red: below, blue: no target, black mark: target, grey: no data"
    )
    ax.set_title(title)
    fig.text(0.01, 0.005, footer, fontsize=7, color="#616161", va="bottom")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


async def footer(view: LiveReader, province: str, now: datetime | None = None) -> str:
    """When the report was made and how current the live view was (Vietnam time)."""
    freshness = await view.freshness(province)
    return "paywatch report, " + caption(freshness, now or datetime.now(VN_TZ))


async def write_report(
    view: LiveReader,
    registry: Registry,
    province: str,
    period: str,
    out_dir: Path,
) -> ReportFiles:
    rows = await report_rows(view, registry, province, period)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"paywatch-{province}-{period}"
    files = ReportFiles(stem.with_suffix(".csv"), stem.with_suffix(".png"), len(rows))
    write_csv(rows, files.csv)
    name = registry.name(province, period_start(period)) or province
    title = f"{name}: online share by district and department, {period}"
    write_chart(rows, title, (await footer(view, province)).replace("\n", "; "), files.chart)
    return files
