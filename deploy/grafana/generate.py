"""Write the paywatch Grafana dashboards (deploy/grafana/dashboards/*.json).

The JSON files are generated so that the three dashboards share one style and stay consistent
with the recording rules (deploy/prometheus/rules); edit this file, then run

    .venv/bin/python deploy/grafana/generate.py

tests/deploy/test_dashboards.py checks that the committed JSON equals this script's output, and
tests/deploy/test_dashboard_queries.py runs every panel's query against a real Prometheus.

Every dashboard has a stable uid, uses the datasource uid ``prometheus`` (provisioned by
deploy/grafana/provisioning/datasources/prometheus.yml) and shows Vietnam time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DS: dict[str, str] = {"type": "prometheus", "uid": "prometheus"}
TZ = "Asia/Ho_Chi_Minh"

Json = dict[str, Any]

#: Adds the unit's name to per-unit series (for legends and tables).
WITH_NAME = " * on (unit, level, parent, province) group_left (name) paywatch:unit_route:info"
#: A unit is ranked in the "bottom 10" panels only with at least this many payment transactions
#: this year: the floor of the below-target alert (deploy/prometheus/rules/units.yml), so that a
#: commune with three payments is not shown as the worst of its province or district.
MIN_PAYMENTS = 100


class Layout:
    """Places panels left to right on Grafana's 24-column grid, wrapping to new rows."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def place(self, w: int, h: int) -> Json:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def target(
    expr: str, ref: str = "A", legend: str = "", *, instant: bool = False, table: bool = False
) -> Json:
    t: Json = {"datasource": DS, "refId": ref, "expr": expr, "editorMode": "code"}
    if legend:
        t["legendFormat"] = legend
    if instant or table:
        t["instant"] = True
        t["range"] = False
    else:
        t["range"] = True
    if table:
        t["format"] = "table"
    return t


def _thresholds(steps: list[tuple[float | None, str]]) -> Json:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


def stat(
    lay: Layout,
    title: str,
    expr: str,
    unit: str,
    description: str,
    *,
    w: int = 4,
    steps: list[tuple[float | None, str]] | None = None,
    decimals: int | None = None,
) -> Json:
    defaults: Json = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": _thresholds(steps or [(None, "blue")]),
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "id": lay.new_id(),
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": lay.place(w, 5),
        "targets": [target(expr, instant=True)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "none",
            "textMode": "auto",
            "justifyMode": "auto",
            "orientation": "auto",
        },
    }


def timeseries(
    lay: Layout,
    title: str,
    targets: list[Json],
    unit: str,
    description: str,
    *,
    w: int = 12,
    h: int = 8,
    bars: bool = False,
    stacked: bool = False,
    max_value: float | None = None,
) -> Json:
    custom: Json = {
        "drawStyle": "bars" if bars else "line",
        "lineWidth": 1 if bars else 2,
        "fillOpacity": 60 if bars else 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
    }
    defaults: Json = {"unit": unit, "custom": custom, "color": {"mode": "palette-classic"}}
    if max_value is not None:
        defaults["max"] = max_value
    if unit == "percentunit":
        defaults["min"] = 0
    return {
        "id": lay.new_id(),
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": lay.place(w, h),
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def bargauge(
    lay: Layout, title: str, expr: str, legend: str, unit: str, description: str, *, w: int = 12
) -> Json:
    defaults: Json = {
        "unit": unit,
        "min": 0,
        "color": {"mode": "continuous-RdYlGr"},
        "thresholds": _thresholds([(None, "red")]),
    }
    if unit == "percentunit":
        defaults["max"] = 1
    return {
        "id": lay.new_id(),
        "type": "bargauge",
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": lay.place(w, 9),
        "targets": [target(expr, legend=legend, instant=True)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
    }


def bottom_units(selector: str) -> str:
    """The ten units of ``selector`` with the lowest online share this year, among those with at
    least MIN_PAYMENTS payment transactions this year, with their names."""
    return (
        f"(bottomk(10, paywatch:unit_online_ratio:ytd{{{selector}}}"
        " and on (unit, level, parent, province) paywatch:unit_transactions:ytd"
        f" >= {MIN_PAYMENTS})){WITH_NAME}"
    )


def units_table(lay: Layout, title: str, selector: str, description: str) -> Json:
    """Units as rows: name, level, YTD ratio, target, gap, trend (24h - 7d), payments YTD."""
    targets = [
        target(f"paywatch:unit_online_ratio:ytd{{{selector}}}{WITH_NAME}", "A", table=True),
        target(f"paywatch:unit_target_ratio{{{selector}}}", "B", table=True),
        target(f"paywatch:unit_target_gap:ytd{{{selector}}}", "C", table=True),
        target(
            f"paywatch:unit_online_ratio:24h{{{selector}}}"
            f" - paywatch:unit_online_ratio:7d{{{selector}}}",
            "D",
            table=True,
        ),
        target(f"paywatch:unit_transactions:ytd{{{selector}}}", "E", table=True),
    ]
    columns = {
        "Value #A": "Online share (YTD)",
        "Value #B": "Target",
        "Value #C": "Gap",
        "Value #D": "Trend (24h vs 7d)",
        "Value #E": "Payments (YTD)",
    }

    def pct(column: str, *, colored: bool) -> Json:
        props: list[Json] = [{"id": "unit", "value": "percentunit"}, {"id": "decimals", "value": 1}]
        if colored:
            props += [
                {"id": "thresholds", "value": _thresholds([(None, "red"), (0, "green")])},
                {"id": "custom.cellOptions", "value": {"type": "color-text"}},
            ]
        return {"matcher": {"id": "byName", "options": column}, "properties": props}

    return {
        "id": lay.new_id(),
        "type": "table",
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": lay.place(24, 11),
        "targets": targets,
        "transformations": [
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {
                    "excludeByName": {"Time": True, "parent": True, "province": True},
                    "indexByName": {
                        "unit": 0,
                        "name": 1,
                        "level": 2,
                        "Value #A": 3,
                        "Value #B": 4,
                        "Value #C": 5,
                        "Value #D": 6,
                        "Value #E": 7,
                    },
                    "renameByName": {"unit": "Code", "name": "Unit", "level": "Level", **columns},
                },
            },
            {"id": "sortBy", "options": {"sort": [{"field": "Gap", "desc": False}]}},
        ],
        "fieldConfig": {
            "defaults": {"custom": {"align": "auto", "filterable": True}},
            "overrides": [
                pct("Online share (YTD)", colored=False),
                pct("Target", colored=False),
                pct("Gap", colored=True),
                pct("Trend (24h vs 7d)", colored=True),
            ],
        },
        "options": {"showHeader": True, "cellHeight": "sm"},
    }


def ratio_vs_target(lay: Layout, unit: str, who: str) -> Json:
    sel = f'unit="{unit}"'
    return timeseries(
        lay,
        f"Online share vs target — {who}",
        [
            target(f"paywatch:unit_online_ratio:ytd{{{sel}}}", "A", "year to date"),
            target(f"paywatch:unit_online_ratio:7d{{{sel}}}", "B", "last 7 days"),
            target(f"paywatch:unit_online_ratio:24h{{{sel}}}", "C", "last 24 hours"),
            target(f"paywatch:unit_target_ratio{{{sel}}}", "D", "target"),
        ],
        "percentunit",
        "Share of payment transactions paid online. Year to date: net of refunds, exact from "
        "the worker's table. 7 days / 24 hours: payments the workers counted in the window "
        "(during a backfill, replayed payments too).",
        w=24,
    )


def payments_per_hour(lay: Layout, unit: str, who: str) -> Json:
    return timeseries(
        lay,
        f"Payments per hour, online vs offline — {who}",
        [
            target(
                f'sum by (channel) (paywatch:unit_payments_by_channel:increase1h{{unit="{unit}"}})',
                "A",
                "{{channel}}",
            )
        ],
        "short",
        "Payments counted in the last hour, by channel (stacked).",
        bars=True,
        stacked=True,
    )


def dashboard(
    uid: str, title: str, description: str, variables: list[Json], panels: list[Json]
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["paywatch"],
        "timezone": TZ,
        "editable": True,
        "graphTooltip": 1,
        "refresh": "1m",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-7d", "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": []},
        "links": [
            {
                "type": "dashboards",
                "tags": ["paywatch"],
                "asDropdown": False,
                "title": "paywatch",
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "panels": panels,
    }


def query_variable(name: str, label: str, query: str, regex: str = "") -> Json:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-variable"},
        "regex": regex,
        "refresh": 1,
        "sort": 1,
        "multi": False,
        "includeAll": False,
        "hide": 0,
    }


PROVINCE_VAR = query_variable(
    "province",
    "Province",
    'query_result(paywatch_unit_info{level="province"})',
    '/name="(?<text>[^"]+)".*unit="(?<value>[^"]+)"/',
)
DISTRICT_VAR = query_variable(
    "district",
    "District",
    'query_result(paywatch_unit_info{level="district", province="$province"})',
    '/name="(?<text>[^"]+)".*unit="(?<value>[^"]+)"/',
)


def province_overview() -> Json:
    lay = Layout()
    p = 'unit="$province"'
    gap_steps: list[tuple[float | None, str]] = [(None, "red"), (0, "green")]
    panels = [
        stat(
            lay,
            "Online share this year",
            f"paywatch:unit_online_ratio:ytd{{{p}}}",
            "percentunit",
            "Year to date, net of refunds and cancellations.",
            decimals=1,
        ),
        stat(
            lay,
            "Target",
            f"paywatch:unit_target_ratio{{{p}}}",
            "percentunit",
            "The province's target for the year (deploy/targets).",
            decimals=1,
        ),
        stat(
            lay,
            "Gap to target",
            f"paywatch:unit_target_gap:ytd{{{p}}}",
            "percentunit",
            "Online share minus target: red below target.",
            steps=gap_steps,
            decimals=1,
        ),
        stat(
            lay,
            "Online share, last 24h",
            f"paywatch:unit_online_ratio:24h{{{p}}}",
            "percentunit",
            "Online share of the payments counted in the last 24 hours (during a backfill, "
            "replayed payments too).",
            decimals=1,
        ),
        stat(
            lay,
            "Payments this year",
            f"paywatch:unit_transactions:ytd{{{p}}}",
            "short",
            "Net payment transactions year to date (all channels).",
        ),
        stat(
            lay,
            "Units below target",
            'sum(paywatch:level_units_below_target:count{province="$province"})',
            "short",
            "Districts, departments and communes whose YTD share is below their target.",
            steps=[(None, "green"), (1, "orange")],
        ),
        ratio_vs_target(lay, "$province", "province"),
        units_table(
            lay,
            "Districts and departments",
            'province="$province", level=~"district|department"',
            "Each district People's Committee and department: online share year to date, its "
            "target, the gap (red = below target) and the trend (24h share minus 7-day share; "
            "red = falling). Sorted by gap.",
        ),
        bargauge(
            lay,
            f"Bottom 10 units (YTD, at least {MIN_PAYMENTS} payments)",
            bottom_units('province="$province", level!="province"'),
            "{{unit}} {{name}}",
            "percentunit",
            "The ten units of any level with the lowest online share this year, among units with "
            f"at least {MIN_PAYMENTS} payments (the floor of the below-target alert).",
        ),
        payments_per_hour(lay, "$province", "province"),
        timeseries(
            lay,
            "Online share by level (last 24h)",
            [target('paywatch:level_online_ratio:24h{province="$province"}', "A", "{{level}}")],
            "percentunit",
            "Online share of the payments counted in the last 24 hours at the units of each level.",
        ),
        bargauge(
            lay,
            "Units below target, by level",
            'paywatch:level_units_below_target:count{province="$province"}',
            "{{level}}",
            "short",
            "How many units of each level are below their target year to date.",
        ),
    ]
    return dashboard(
        "paywatch-province",
        "paywatch — province overview",
        "A province's online share of public-service payments against its target, its "
        "districts and departments, the bottom units and payments per hour.",
        [PROVINCE_VAR],
        panels,
    )


def district_drilldown() -> Json:
    lay = Layout()
    d = 'unit="$district"'
    communes = 'parent="$district", level="commune"'
    gap_steps: list[tuple[float | None, str]] = [(None, "red"), (0, "green")]
    panels = [
        stat(
            lay,
            "Online share this year",
            f"paywatch:unit_online_ratio:ytd{{{d}}}",
            "percentunit",
            "The district's share year to date (all its communes and its own office).",
            decimals=1,
        ),
        stat(
            lay,
            "Target",
            f"paywatch:unit_target_ratio{{{d}}}",
            "percentunit",
            "The district's target for the year.",
            decimals=1,
        ),
        stat(
            lay,
            "Gap to target",
            f"paywatch:unit_target_gap:ytd{{{d}}}",
            "percentunit",
            "Online share minus target: red below target.",
            steps=gap_steps,
            decimals=1,
        ),
        stat(
            lay,
            "Online share, last 24h",
            f"paywatch:unit_online_ratio:24h{{{d}}}",
            "percentunit",
            "Online share of the payments counted in the last 24 hours (during a backfill, "
            "replayed payments too).",
            decimals=1,
        ),
        stat(
            lay,
            "Payments this year",
            f"paywatch:unit_transactions:ytd{{{d}}}",
            "short",
            "Net payment transactions year to date.",
        ),
        stat(
            lay,
            "Communes below target",
            f"count(paywatch:unit_target_gap:ytd{{{communes}}} < 0) or vector(0)",
            "short",
            "Communes, wards and towns of the district below their target year to date.",
            steps=[(None, "green"), (1, "orange")],
        ),
        ratio_vs_target(lay, "$district", "district"),
        units_table(
            lay,
            "Communes, wards and towns",
            communes,
            "Each commune of the district: online share year to date, its target (set by the "
            "district, or inherited), the gap and the trend. Sorted by gap.",
        ),
        bargauge(
            lay,
            "Bottom 10 communes (YTD)",
            f"bottomk(10, paywatch:unit_online_ratio:ytd{{{communes}}}){WITH_NAME}",
            "{{unit}} {{name}}",
            "percentunit",
            "The ten communes of the district with the lowest online share this year, however "
            "few their payments (a district looks at all its communes; the province-wide panel "
            f"keeps the {MIN_PAYMENTS}-payment floor).",
        ),
        payments_per_hour(lay, "$district", "district"),
        timeseries(
            lay,
            "Online share per commune (last 24h)",
            [
                target(
                    f"paywatch:unit_online_ratio:24h{{{communes}}}{WITH_NAME}",
                    "A",
                    "{{unit}} {{name}}",
                )
            ],
            "percentunit",
            "Each commune's online share of the payments counted in the last 24 hours.",
            w=24,
        ),
    ]
    return dashboard(
        "paywatch-district",
        "paywatch — district drill-down",
        "One district: its online share against target and its communes, wards and towns.",
        [PROVINCE_VAR, DISTRICT_VAR],
        panels,
    )


def pipeline_health() -> Json:
    lay = Layout()
    panels = [
        stat(
            lay,
            "Workers up",
            "paywatch:workers_up:sum",
            "short",
            "Workers Prometheus scrapes successfully (job paywatch).",
            steps=[(None, "red"), (1, "green")],
        ),
        stat(
            lay,
            "Events counted /s",
            'sum(paywatch:events:rate1m{outcome="counted"})',
            "ops",
            "Payment records counted per second, all workers, last minute.",
        ),
        stat(
            lay,
            "Consumer lag",
            "sum(paywatch:consumer_lag_messages:sum)",
            "short",
            "Messages not yet consumed, all topics.",
            steps=[(None, "green"), (1000, "orange"), (10000, "red")],
        ),
        stat(
            lay,
            "Dead-lettered (10m)",
            "paywatch:events_dead_letter_ratio:rate10m",
            "percentunit",
            "Share of events sent to the dead-letter topic, last 10 minutes.",
            steps=[(None, "green"), (0.05, "red")],
            decimals=2,
        ),
        stat(
            lay,
            "Redis live view behind",
            'max(paywatch_sink_lag_seconds{sink="redis"})',
            "s",
            "Age of the oldest update not yet written to Redis (0 = all written).",
            steps=[(None, "green"), (60, "orange"), (300, "red")],
        ),
        stat(
            lay,
            "Partitions assigned",
            "sum(paywatch_assigned_partitions)",
            "short",
            "Kafka partitions assigned to the workers, all topics.",
            steps=[(None, "red"), (1, "green")],
        ),
        timeseries(
            lay,
            "Throughput by outcome",
            [target("paywatch:events:rate1m", "A", "{{outcome}}")],
            "ops",
            "Payment records per second: counted, duplicate (ignored), dead_letter.",
            stacked=True,
        ),
        timeseries(
            lay,
            "Consumer lag by topic",
            [target("paywatch:consumer_lag_messages:sum", "A", "{{topic}}")],
            "short",
            "Messages between the committed offset and the end of the log, per topic.",
        ),
        timeseries(
            lay,
            "Dead letters by reason",
            [target("paywatch:dead_letters:rate5m", "A", "{{reason}}")],
            "ops",
            "Records sent to the dead-letter topic per second, by reason.",
            stacked=True,
        ),
        timeseries(
            lay,
            "Latency: Kafka record → counted",
            [
                target("paywatch:produce_delay_seconds:p50", "A", "p50"),
                target("paywatch:produce_delay_seconds:p95", "B", "p95"),
                target("paywatch:produce_delay_seconds:p99", "C", "p99"),
            ],
            "s",
            "From the Kafka record timestamp to the moment the payment was counted.",
        ),
        timeseries(
            lay,
            "Latency: event time → counted",
            [
                target("paywatch:event_time_delay_seconds:p50", "A", "p50"),
                target("paywatch:event_time_delay_seconds:p95", "B", "p95"),
            ],
            "s",
            "From the payment's own time to the moment it was counted (late events and replays "
            "make this long on purpose).",
        ),
        timeseries(
            lay,
            "Lag by partition",
            [
                target(
                    "max by (topic, partition) (paywatch_consumer_lag_messages)",
                    "A",
                    "{{topic}}/{{partition}}",
                )
            ],
            "short",
            "Consumer lag of each partition: one partition far behind means a stuck partition.",
        ),
        timeseries(
            lay,
            "Sink state: pending updates and lag",
            [
                target("sum by (sink) (paywatch_sink_pending_updates)", "A", "{{sink}} pending"),
                target("max by (sink) (paywatch_sink_lag_seconds)", "B", "{{sink}} lag (s)"),
            ],
            "short",
            "Updates waiting to be written to each sink, and the age of the oldest one.",
            w=8,
        ),
        timeseries(
            lay,
            "Sink writes and errors",
            [
                target(
                    "sum by (sink) (rate(paywatch_sink_writes_total[$__rate_interval]))",
                    "A",
                    "{{sink}} keys written/s",
                ),
                target("paywatch:sink_errors:rate5m", "B", "{{sink}} errors/s"),
            ],
            "ops",
            "Keys written per second by successful flushes, and failed flushes per second.",
            w=8,
        ),
        timeseries(
            lay,
            "Sink flush duration (p95)",
            [
                target(
                    "histogram_quantile(0.95, sum by (le, sink) "
                    "(rate(paywatch_sink_flush_duration_seconds_bucket[$__rate_interval])))",
                    "A",
                    "{{sink}}",
                )
            ],
            "s",
            "95th percentile of one flush batch's duration, per sink.",
            w=8,
        ),
        timeseries(
            lay,
            "Workers: up and partitions",
            [
                target('up{job="paywatch"}', "A", "{{instance}} up"),
                target(
                    "sum by (instance, topic) (paywatch_assigned_partitions)",
                    "B",
                    "{{instance}} {{topic}} partitions",
                ),
            ],
            "short",
            "Scrape status of each worker and the partitions assigned to it.",
        ),
        timeseries(
            lay,
            "Rebalances (last 15m)",
            [target("paywatch:rebalances:increase15m", "A", "rebalances")],
            "short",
            "Consumer-group rebalances in the last 15 minutes (alert at 3).",
        ),
    ]
    return dashboard(
        "paywatch-pipeline",
        "paywatch — pipeline health",
        "The stream itself: throughput, consumer lag, dead letters, latency, sinks, workers.",
        [],
        panels,
    )


DASHBOARDS = {
    "paywatch-province.json": province_overview,
    "paywatch-district.json": district_drilldown,
    "paywatch-pipeline.json": pipeline_health,
}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in DASHBOARDS.items():
        (OUT / name).write_text(render(build), encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
