"""Prometheus metrics through real HTTP scrapes: names, labels, exact values, promtool."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from fractions import Fraction
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from models.kpi import Counters
from sinks.metrics import install, register, serve
from sinks.unit_directory import UnitDirectory
from sinks.unit_metrics import FAMILIES
from tests.ports import free_port
from tests.sinks.helpers import NOW, c

BASE = {"unit", "level", "parent", "province"}
Rows = list[tuple[str, str, Counters]]

ROWS: Rows = [
    # Phường Thái Bình (target 40%): the current year, month and day, another month, last year
    ("04789", "2022", c(10, 4, 1000, 300, reversed=2, reversed_online=1, reversed_amount=100,
                        reversed_online_amount=50, dossiers=5, dossiers_online=2)),
    ("04789", "2022-03", c(6, 3, 600, 200, reversed=1, reversed_amount=10)),
    ("04789", "2022-03-15", c(2, 1, 20, 10)),
    ("04789", "2022-02", c(4, 1, 400, 100)),
    ("04789", "2021", c(7, 1, 70, 10, reversed=1, reversed_online=1, reversed_amount=10,
                        reversed_online_amount=10)),
    # Phường Tân Thịnh: rows, but nothing to count (undefined ratios); inherits 30%
    ("04798", "2022", c(0, 0)),
    # the province: only last year's rows -> zero windows, but totals
    ("17", "2021", c(3, 3, 30, 30, dossiers=1, dossiers_online=1)),
]  # fmt: skip


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        body: bytes = response.read()
        return body.decode()


def samples(text: str) -> Found:
    out: Found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in out, f"duplicate series {key}"
            out[key] = s.value
    return out


Found = dict[tuple[str, frozenset[tuple[str, str]]], float]


def value(found: Found, metric: str, /, **labels: str) -> float | None:
    """The sample of ``metric`` whose labels include ``labels`` (exactly one, or None)."""
    hits = [v for (n, ls), v in found.items() if n == metric and set(labels.items()) <= ls]
    assert len(hits) <= 1, (metric, labels, hits)
    return hits[0] if hits else None


@pytest.fixture
def served(directory: UnitDirectory) -> Iterator[tuple[str, CollectorRegistry]]:
    registry = CollectorRegistry()
    metrics = register(registry, lambda: ROWS, directory, clock=lambda: NOW)
    metrics.events.labels("counted").inc(7)
    metrics.dead_letters.labels("unknown_unit").inc()
    metrics.event_time_delay.observe(3.5)
    metrics.consumer_lag.labels("payments", "0").set(12)
    metrics.watch_sink("redis", lambda: 4, lambda: 1.5)
    server = serve(registry)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metrics", registry
    finally:
        server.shutdown()
        server.server_close()


def test_names_labels_and_promtool(served: tuple[str, CollectorRegistry]) -> None:
    text = scrape(served[0])
    # the text parser drops the _total of counter families; prometheus_client adds a
    # *_created gauge for each of its counters and histograms
    names = {f.name for f in text_string_to_metric_families(text)}
    names = {n for n in names if not n.endswith("_created")}
    expected = {n.removesuffix("_total") for n, *_ in FAMILIES} | {
        "paywatch_events", "paywatch_dead_letters", "paywatch_event_time_delay_seconds",
        "paywatch_produce_delay_seconds", "paywatch_consumer_lag_messages", "paywatch_rebalances",
        "paywatch_assigned_partitions", "paywatch_sink_errors", "paywatch_sink_pending_updates",
        "paywatch_sink_lag_seconds", "paywatch_sink_flush_duration_seconds", "paywatch_sink_writes",
        "paywatch_quarantined_records", "paywatch_step_failures_in_a_row",
        "paywatch_units_without_target", "paywatch_future_dated_events",
    }  # fmt: skip
    assert names == expected
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if not s.name.startswith("paywatch_unit_"):
                continue
            extra = set(s.labels) - BASE
            assert set(s.labels) >= BASE, s
            if s.name == "paywatch_unit_info":
                assert extra == {"name", "division_type"}
            else:  # names only ever in the info metric
                assert extra <= {"kpi", "window", "channel"}, s
                assert not any("Phường" in v for v in s.labels.values())
    assert shutil.which("promtool"), (
        "promtool is missing: deploy/local/install-packages.sh installs it"
    )
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_values_are_exact(served: tuple[str, CollectorRegistry]) -> None:
    found = samples(scrape(served[0]))
    u = {"unit": "04789", "level": "commune", "parent": "148", "province": "17"}
    ratio = "paywatch_unit_online_ratio"
    assert value(found, ratio, **u, kpi="transactions", window="year") == float(Fraction(3, 8))
    assert value(found, ratio, **u, kpi="dossiers", window="year") == 0.4
    assert value(found, ratio, **u, kpi="transactions", window="month") == float(Fraction(3, 5))
    assert value(found, ratio, **u, kpi="transactions", window="day") == 0.5
    assert value(found, ratio, **u, kpi="dossiers", window="month") is None  # no dossiers
    tx = "paywatch_unit_transactions"
    assert value(found, tx, **u, window="year", channel="online") == 3
    assert value(found, tx, **u, window="year", channel="all") == 8
    assert value(found, tx, **u, window="month", channel="all") == 5  # not February's rows
    # Amounts and dossier counts per window are in the Redis view, not in Prometheus.
    assert not [s for s in found if s[0] in ("paywatch_unit_amount_vnd", "paywatch_unit_dossiers")]
    assert value(found, "paywatch_unit_target_ratio", **u) == 0.4
    gap = "paywatch_unit_target_gap_ratio"
    assert value(found, gap, **u, kpi="transactions", window="year") == float(
        Fraction(3, 8) - Fraction(2, 5)
    )
    assert value(found, gap, **u, kpi="dossiers", window="year") == 0.0
    # monotonic totals: gross, summed over the years 2021 and 2022
    assert value(found, "paywatch_unit_payments_total", **u, channel="online") == 5
    assert value(found, "paywatch_unit_payments_total", **u, channel="offline") == 12
    assert value(found, "paywatch_unit_reversals_total", **u, channel="online") == 2
    assert value(found, "paywatch_unit_reversals_total", **u, channel="offline") == 1
    amt = "paywatch_unit_payments_amount_vnd_total"
    assert value(found, amt, **u, channel="online") == 310
    assert value(found, amt, **u, channel="offline") == 760
    assert value(found, "paywatch_unit_reversals_amount_vnd_total", **u, channel="offline") == 50
    # the info metric carries the names
    assert (
        value(found, "paywatch_unit_info", **u, name="Phường Thái Bình", division_type="phường")
        == 1
    )
    assert (
        value(
            found,
            "paywatch_unit_info",
            unit="17",
            level="province",
            parent="",
            name="Tỉnh Hòa Bình",
        )
        == 1
    )
    # undefined ratios and gaps: no series at all; counts are 0, the target is there
    t = {"unit": "04798"}
    assert not [k for k in found if k[0] in (ratio, gap) and ("unit", "04798") in k[1]]
    assert value(found, tx, **t, window="year", channel="all") == 0
    assert value(found, "paywatch_unit_target_ratio", **t) == 0.3
    # the province has rows of 2021 only: zero windows, no ratio, but its totals
    assert value(found, tx, unit="17", window="year", channel="all") == 0
    assert value(found, ratio, unit="17", kpi="transactions", window="year") is None
    assert value(found, "paywatch_unit_payments_total", unit="17", channel="online") == 3
    # pipeline metrics
    assert value(found, "paywatch_events_total", outcome="counted") == 7
    assert value(found, "paywatch_events_total", outcome="duplicate") == 0
    assert value(found, "paywatch_dead_letters_total", reason="unknown_unit") == 1
    assert value(found, "paywatch_consumer_lag_messages", topic="payments", partition="0") == 12
    assert value(found, "paywatch_sink_pending_updates", sink="redis") == 4
    assert value(found, "paywatch_sink_lag_seconds", sink="redis") == 1.5
    assert value(found, "paywatch_sink_errors_total", sink="redis") == 0
    assert value(found, "paywatch_event_time_delay_seconds_count") == 1


def test_generic_server_exposes_the_same_samples(
    served: tuple[str, CollectorRegistry],
) -> None:
    """prometheus_client's own server (generate_latest) and the fast path agree exactly."""
    url, registry = served
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        generic = samples(scrape(f"http://127.0.0.1:{port}/metrics"))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert generic == samples(scrape(url))


ASKED = ("paywatch_sink_pending_updates", "paywatch_unit_payments_total", "paywatch_unit_info")


def test_a_scrape_asks_for_some_names(served: tuple[str, CollectorRegistry]) -> None:
    """?name[]=... keeps exactly those samples, as prometheus_client's own server does."""
    url, registry = served
    query = "?" + "&".join(f"name[]={n}" for n in ASKED)
    everything = samples(scrape(url))
    kept = samples(scrape(url + query))
    assert kept == {k: v for k, v in everything.items() if k[0] in ASKED}
    assert {name for name, _ in kept} == set(ASKED)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        assert samples(scrape(f"http://127.0.0.1:{port}/metrics{query}")) == kept
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_scrape_without_unit_families_reads_no_counters(directory: UnitDirectory) -> None:
    reads: list[int] = []

    def view() -> Rows:
        reads.append(1)
        return ROWS

    registry = CollectorRegistry()
    register(registry, view, directory, clock=lambda: NOW).watch_sink("redis", lambda: 4, lambda: 0)
    reads.clear()  # register() collects once to learn the names
    server = serve(registry)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        pending = samples(scrape(url + "?name[]=paywatch_sink_pending_updates"))
        assert pending == {("paywatch_sink_pending_updates", frozenset({("sink", "redis")})): 4}
        assert reads == []
        scrape(url)
        assert reads == [1]
    finally:
        server.shutdown()
        server.server_close()


def test_ownership_split_sums_to_the_whole(directory: UnitDirectory) -> None:
    """Two workers, each exposing the units it owns: no series twice, totals add up."""
    mine = {"04789"}
    parts = [[r for r in ROWS if r[0] in mine], [r for r in ROWS if r[0] not in mine]]
    scraped = []
    for rows in [ROWS, *parts]:
        registry = CollectorRegistry()
        register(registry, lambda rows=rows: rows, directory, clock=lambda: NOW)  # type: ignore[misc]
        server = serve(registry)
        try:
            found = samples(scrape(f"http://127.0.0.1:{server.server_address[1]}/metrics"))
        finally:
            server.shutdown()
            server.server_close()
        scraped.append({k: v for k, v in found.items() if k[0].startswith("paywatch_unit_")})
    whole, a, b = scraped
    assert not set(a) & set(b)
    assert {**a, **b} == whole


def test_install_serves_on_the_faust_web_app(directory: UnitDirectory) -> None:
    """install() adds /metrics to a Faust app's web server (its aiohttp application, real HTTP)."""
    import faust
    from aiohttp.test_utils import TestClient, TestServer

    app = faust.App(
        "paywatch-sinks-install-test", broker="kafka://127.0.0.1:9092", autodiscover=False
    )
    registry = CollectorRegistry()
    metrics = install(app, registry, lambda: ROWS, directory, clock=lambda: NOW)
    metrics.rebalances.inc()

    async def go() -> tuple[int, str, str, str]:
        async with TestClient(TestServer(cast(Any, app.web).web_app, host="127.0.0.1")) as client:
            response = await client.get("/metrics")
            asked = await client.get("/metrics?name[]=paywatch_rebalances_total")
            return (
                response.status,
                response.headers["Content-Type"],
                await response.text(),
                await asked.text(),
            )

    status, content_type, text, asked = asyncio.run(go())
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    assert samples(asked) == {("paywatch_rebalances_total", frozenset()): 1}
    found = samples(text)
    assert value(found, "paywatch_rebalances_total") == 1
    assert (
        value(found, "paywatch_unit_transactions", unit="04789", window="day", channel="all") == 2
    )
