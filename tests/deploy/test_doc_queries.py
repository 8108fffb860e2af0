"""Every PromQL query of the documentation runs on a real Prometheus scraping a real worker
(the `prometheus_url` fixture of tests/deploy/conftest.py, shared with the dashboard queries):
the examples of ```promql blocks parse and return data, and every query in an inline code span
parses and reads only series that exist."""

from __future__ import annotations

import re
import time

import yaml

from tests.deploy.deploy_stack import RULES, http_get, query
from tests.deploy.doc_queries import example_queries, inline_queries, series_names, with_bool

#: Series Prometheus makes itself (not scraped from a worker).
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "ALERTS", "ALERTS_FOR_STATE"}
RETRY_SECONDS = 30


def _recording_rules() -> set[str]:
    names: set[str] = set()
    for path in RULES.glob("*.yml"):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            names.update(rule["record"] for rule in group["rules"] if "record" in rule)
    return names


def _worker_series(target: str) -> set[str]:
    """Names of the worker's metric families and samples (histograms with their suffixes)."""
    text = http_get(f"http://{target}/metrics", timeout_s=20).decode()
    names = set(re.findall(r"^# TYPE (\S+)", text, re.M))
    names |= set(re.findall(r"^([a-zA-Z_:][\w:]*)[{ ]", text, re.M))
    return names


def test_the_docs_have_queries() -> None:
    assert len(example_queries()) >= 6
    assert len(inline_queries()) >= 50


def test_every_example_query_parses_and_returns_data(prometheus_url: str) -> None:
    pending = {q: with_bool(q.expr) for q in example_queries()}
    errors: dict[str, str] = {}
    deadline_s = time.monotonic() + RETRY_SECONDS
    while pending:
        for q, expr in list(pending.items()):
            try:
                result = query(prometheus_url, expr)
            except ValueError as exc:  # refused by Prometheus: broken, no retry
                errors[q.where()] = f"{exc}\n    {q.expr}"
                del pending[q]
                continue
            if result:
                del pending[q]
        if not pending or time.monotonic() > deadline_s:
            break
        time.sleep(1)
    for q in pending:
        errors[q.where()] = f"no data (comparisons made bool)\n    {q.expr}"
    assert not errors, "\n".join(f"{k}: {v}" for k, v in sorted(errors.items()))


def test_every_inline_query_parses_and_names_real_series(
    prometheus_url: str, metrics_target: str
) -> None:
    known = _recording_rules() | _worker_series(metrics_target) | PROMETHEUS_SERIES
    errors = []
    for q in inline_queries():
        try:
            query(prometheus_url, q.expr)
        except ValueError as exc:
            errors.append(f"{q.where()}: {exc}\n    {q.expr}")
        unknown = series_names(q.expr) - known
        if unknown:
            errors.append(f"{q.where()}: no such series {sorted(unknown)}\n    {q.expr}")
    assert not errors, "\n".join(errors)


def test_the_checks_can_fail(prometheus_url: str) -> None:
    # The two ways an example broke before: a filter scaled by a join without parentheses does
    # not parse, and two sides differing in a label return nothing even as a bool comparison.
    try:
        query(
            prometheus_url,
            'paywatch_unit_target_gap_ratio{kpi="transactions"} < 0'
            " * on (unit) group_left (name) paywatch_unit_info",
        )
    except ValueError as exc:
        assert "parse" in str(exc)
    else:
        raise AssertionError("an unparsable query was accepted")
    mismatched = with_bool(
        'paywatch_unit_online_ratio{kpi="transactions",window="day"}'
        ' < paywatch_unit_online_ratio{kpi="transactions",window="year"} - 0.15'
    )
    assert " < bool " in mismatched
    assert query(prometheus_url, mismatched) == []
    assert series_names('sum by (unit) (rate(x_total{a="b"}[5m])) / on (unit) y') == {
        "x_total",
        "y",
    }
