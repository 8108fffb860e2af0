"""Approximate screenshots of the Grafana dashboards, without Grafana.

Starts the same private stack as the dashboard tests (a stand-in paywatch metrics target and a
private Prometheus with the project's rules; tests/deploy/deploy_stack.py), lets it collect a few
minutes of data (with a simulated payment-gateway outage in the middle), evaluates every panel's
queries exactly as tests/deploy/test_dashboard_queries.py does, draws each dashboard as a static
HTML page laid out on Grafana's grid (stat, time series, bar gauge and table panels) and takes a
PNG of each page with headless Chromium.

    .venv/bin/python -m docs.screenshots.render [--minutes 4] [--out docs/screenshots]

Needs `chromium` (apt-get install -y chromium). The time axis spans only the minutes collected;
the layout, queries, units, thresholds and values are the dashboards' own.
"""

from __future__ import annotations

import argparse
import html
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.deploy.deploy_stack import (
    load_dashboards,
    panels,
    prometheus,
    query,
    query_range,
    standin_target,
    substitute,
    variable_combinations,
    wait_for,
)

COL = 64  # px per grid column (24 columns = 1536 px)
ROW = 30  # px per grid row, as in Grafana
PALETTE = ("#73bf69", "#f2cc0c", "#5794f2", "#ff780a", "#b877d9", "#f2495c", "#8ab8ff", "#fade2a")
COLORS = {"green": "#73bf69", "red": "#f2495c", "orange": "#ff9830", "blue": "#5794f2"}


def fmt(value: float, unit: str, decimals: int | None = None) -> str:
    if math.isnan(value):
        return "NaN"
    if unit == "percentunit":
        return f"{value * 100:.{1 if decimals is None else decimals}f}%"
    if unit == "s":
        return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min"
    if unit == "ops":
        return f"{value:.2f}/s"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{0 if float(value).is_integer() else 2}f}"


def legend(fmt_string: str, labels: dict[str, str]) -> str:
    if not fmt_string:
        return ",".join(f"{k}={v}" for k, v in labels.items() if k != "__name__") or "value"
    out = fmt_string
    for key, value in labels.items():
        out = out.replace("{{" + key + "}}", value)
    return out


def threshold_color(panel: dict[str, Any], value: float) -> str:
    steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
    color = "blue"
    for step in steps:
        if step["value"] is None or value >= step["value"]:
            color = step["color"]
    return COLORS.get(color, color)


def draw_stat(panel: dict[str, Any], results: list[list[dict[str, Any]]]) -> str:
    defaults = panel["fieldConfig"]["defaults"]
    samples = results[0]
    if not samples:
        return '<div class="big">No data</div>'
    value = float(samples[0]["value"][1])
    color = threshold_color(panel, value)
    text = fmt(value, defaults.get("unit", ""), defaults.get("decimals"))
    return f'<div class="big" style="color:{color}">{html.escape(text)}</div>'


def draw_timeseries(
    panel: dict[str, Any], results: list[list[dict[str, Any]]], width: int, height: int
) -> str:
    defaults = panel["fieldConfig"]["defaults"]
    unit = defaults.get("unit", "")
    series: list[tuple[str, list[tuple[float, float]]]] = []
    for target, result in zip(panel["targets"], results, strict=True):
        for s in result:
            points = [(float(t), float(v)) for t, v in s["values"] if not math.isnan(float(v))]
            series.append((legend(target.get("legendFormat", ""), s["metric"]), points))
    pts = [p for _, ps in series for p in ps]
    if not pts:
        return '<div class="big">No data</div>'
    stacked = defaults["custom"]["stacking"]["mode"] == "normal"
    bars = defaults["custom"]["drawStyle"] == "bars"
    t0, t1 = min(p[0] for p in pts), max(p[0] for p in pts)
    if stacked:
        totals: dict[float, float] = {}
        for _, ps in series:
            for t, v in ps:
                totals[t] = totals.get(t, 0.0) + v
        vmax = max(totals.values())
    else:
        vmax = max(p[1] for p in pts)
    vmin = min(0.0, min(p[1] for p in pts))
    if "max" in defaults:
        vmax = max(vmax, 0.0)
    vmax = vmax if vmax > vmin else vmin + 1
    vmax *= 1.1
    left, bottom, top = 62, 20, 6
    per_row = max(1, width // 260)
    w, h = width - left - 8, height - bottom - top - 18 * math.ceil(len(series) / per_row)

    def x(t: float) -> float:
        return left + (t - t0) / max(t1 - t0, 1) * w

    def y(v: float) -> float:
        return top + h - (v - vmin) / (vmax - vmin) * h

    parts = [f'<svg width="{width}" height="{height}">']
    for i in range(5):
        v = vmin + (vmax - vmin) * i / 4
        parts.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" class="axis" text-anchor="end">'
            f"{html.escape(fmt(v, unit, 0 if unit == 'percentunit' else None))}</text>"
        )
    for i in range(5):
        t = t0 + (t1 - t0) * i / 4
        label = time.strftime("%H:%M:%S", time.gmtime(t + 7 * 3600))
        anchor = ("start", "middle", "middle", "middle", "end")[i]
        parts.append(
            f'<text x="{x(t):.1f}" y="{top + h + 15}" class="axis" '
            f'text-anchor="{anchor}">{label}</text>'
        )
    base: dict[float, float] = {}
    for n, (_name, ps) in enumerate(series):
        color = PALETTE[n % len(PALETTE)]
        if bars:
            bw = max(w / max(len(ps), 1) * 0.8, 1)
            for t, v in ps:
                b = base.get(t, 0.0) if stacked else 0.0
                parts.append(
                    f'<rect x="{x(t) - bw / 2:.1f}" y="{y(b + v):.1f}" width="{bw:.1f}" '
                    f'height="{max(y(b) - y(b + v), 0):.1f}" fill="{color}" opacity="0.8"/>'
                )
                if stacked:
                    base[t] = b + v
        else:
            coords = []
            for t, v in ps:
                b = base.get(t, 0.0) if stacked else 0.0
                coords.append(f"{x(t):.1f},{y(b + v):.1f}")
                if stacked:
                    base[t] = b + v
            parts.append(
                f'<polyline points="{" ".join(coords)}" fill="none" stroke="{color}" '
                f'stroke-width="2"/>'
            )
    for n, (name, _ps) in enumerate(series):
        lx = left + (n % per_row) * (w / per_row)
        ly = top + h + 34 + 18 * (n // per_row)
        parts.append(
            f'<rect x="{lx:.0f}" y="{ly - 9}" width="12" height="4" '
            f'fill="{PALETTE[n % len(PALETTE)]}"/>'
            f'<text x="{lx + 16:.0f}" y="{ly - 4}" class="legend">{html.escape(name[:40])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def draw_bargauge(panel: dict[str, Any], results: list[list[dict[str, Any]]]) -> str:
    defaults = panel["fieldConfig"]["defaults"]
    unit = defaults.get("unit", "")
    rows = [
        (legend(panel["targets"][0].get("legendFormat", ""), s["metric"]), float(s["value"][1]))
        for s in results[0]
    ]
    rows.sort(key=lambda r: r[1])
    vmax = defaults.get("max") or max((v for _, v in rows), default=1) or 1
    out = ['<div class="bars">']
    for name, value in rows:
        share = max(0.0, min(value / vmax, 1.0))
        hue = int(120 * share) if unit == "percentunit" else 200
        out.append(
            f'<div class="bar"><span class="bl">{html.escape(name)}</span>'
            f'<span class="bt"><span style="width:{share * 100:.1f}%;'
            f'background:hsl({hue},70%,45%)"></span></span>'
            f'<span class="bv">{html.escape(fmt(value, unit))}</span></div>'
        )
    out.append("</div>")
    return "".join(out)


def draw_table(panel: dict[str, Any], results: list[list[dict[str, Any]]]) -> str:
    organize = next(t for t in panel["transformations"] if t["id"] == "organize")["options"]
    rename: dict[str, str] = organize["renameByName"]
    rows: dict[str, dict[str, Any]] = {}
    for target, result in zip(panel["targets"], results, strict=True):
        for s in result:
            row = rows.setdefault(s["metric"]["unit"], {})
            for key in ("unit", "name", "level"):
                if key in s["metric"]:
                    row[key] = s["metric"][key]
            row[f"Value #{target['refId']}"] = float(s["value"][1])
    order = sorted(organize["indexByName"], key=lambda k: organize["indexByName"][k])
    pct = {"Value #A", "Value #B", "Value #C", "Value #D"}
    colored = {"Value #C", "Value #D"}
    out = ["<table><tr>", *(f"<th>{html.escape(rename.get(c, c))}</th>" for c in order), "</tr>"]
    for row in sorted(rows.values(), key=lambda r: r.get("Value #C", 0.0)):
        out.append("<tr>")
        for c in order:
            v = row.get(c)
            if isinstance(v, float):
                text = fmt(v, "percentunit" if c in pct else "short", 1 if c in pct else None)
                style = (
                    f' style="color:{COLORS["red" if v < 0 else "green"]}"' if c in colored else ""
                )
                out.append(f'<td class="num"{style}>{html.escape(text)}</td>')
            else:
                out.append(f"<td>{html.escape(str(v or ''))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


CSS = """
body { background:#111217; color:#ccccdc; font-family: Inter, "DejaVu Sans", sans-serif;
       margin:0; }
header { padding:10px 16px; font-size:18px; border-bottom:1px solid #2c2d33; }
header .vars { font-size:13px; color:#9fa7b3; margin-left:24px; }
.grid-area { position:relative; margin:8px; }
.panel { position:absolute; background:#181b1f; border:1px solid #2c2d33; border-radius:2px;
         box-sizing:border-box; overflow:hidden; }
.title { font-size:13px; font-weight:500; padding:6px 8px; color:#ccccdc; }
.big { font-size:38px; font-weight:500; text-align:center; margin-top:10px; }
.grid { stroke:#2c2d33; } .axis { fill:#9fa7b3; font-size:10px; }
.legend { fill:#ccccdc; font-size:11px; }
table { border-collapse:collapse; width:100%; font-size:12px; }
th { text-align:left; color:#6e9fff; padding:3px 8px; border-bottom:1px solid #2c2d33; }
td { padding:2px 8px; border-bottom:1px solid #202226; } td.num { text-align:right; }
.bars { padding:2px 8px; font-size:11px; }
.bar { display:flex; align-items:center; margin:2px 0; }
.bl { width:38%; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.bt { flex:1; background:#22252b; height:12px; margin:0 6px; }
.bt span { display:block; height:12px; } .bv { width:56px; text-align:right; }
"""


def render_page(
    url: str, dashboard: dict[str, Any], values: dict[str, str], start: float, end: float
) -> tuple[str, int]:
    body = []
    bottom = 0
    for panel in panels(dashboard):
        g = panel["gridPos"]
        width, height = g["w"] * COL - 6, g["h"] * ROW - 6
        bottom = max(bottom, (g["y"] + g["h"]) * ROW)
        exprs = [substitute(t["expr"], values) for t in panel["targets"]]
        if panel["type"] == "timeseries":
            step = max((end - start) / 200, 1.0)
            results = [query_range(url, e, start, end, step) for e in exprs]
            content = draw_timeseries(panel, results, width, height - 28)
        else:
            results = [query(url, e) for e in exprs]
            if panel["type"] == "stat":
                content = draw_stat(panel, results)
            elif panel["type"] == "bargauge":
                content = draw_bargauge(panel, results)
            else:
                content = draw_table(panel, results)
        body.append(
            f'<div class="panel" style="left:{g["x"] * COL}px;top:{g["y"] * ROW}px;'
            f'width:{width}px;height:{height}px"><div class="title">'
            f"{html.escape(panel['title'])}</div>{content}</div>"
        )
    variables = "  ".join(f"{k} = {v}" for k, v in values.items())
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{CSS}</style></head><body>"
        f"<header>{html.escape(dashboard['title'])}<span class='vars'>{html.escape(variables)}"
        f"</span><span class='vars'>Asia/Ho_Chi_Minh · approximate rendering of "
        f"deploy/grafana/dashboards (uid {dashboard['uid']})</span></header>"
        f"<div class='grid-area' style='height:{bottom}px'>{''.join(body)}</div></body></html>"
    )
    return page, bottom + 60


def screenshot(chromium: str, page: Path, png: Path, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size=1552,{height}",
                f"--screenshot={png}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium is needed: apt-get install -y chromium", file=sys.stderr)
        return 1
    seconds = args.minutes * 60
    outage = ("--outage", str(seconds * 0.45), str(seconds * 0.25))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with standin_target(work, extra=outage) as target, prometheus(work, [target]) as url:
            wait_for(url, "paywatch:unit_online_ratio:24h", 60)
            start = time.time()
            print(f"collecting {args.minutes} minutes of data from the stand-in target ...")
            time.sleep(seconds)
            end = time.time()
            for name, dashboard in load_dashboards().items():
                combos = variable_combinations(url, dashboard)
                values = next((c for c in combos if c.get("district") == "152"), combos[0])
                page, height = render_page(url, dashboard, values, start, end)
                html_path = work / name.replace(".json", ".html")
                html_path.write_text(page, encoding="utf-8")
                png = args.out / name.replace(".json", ".png")
                screenshot(chromium, html_path, png, height)
                print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
