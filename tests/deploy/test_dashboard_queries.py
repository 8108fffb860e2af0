"""Every Grafana panel query, with its template variables filled in from real label values,
parses and returns data on a real Prometheus scraping a paywatch metrics target.

A panel whose query returns nothing is a broken panel. The Prometheus comes from the
`prometheus_url` fixture (tests/deploy/conftest.py), so this file does not care what it
scrapes.
"""

from __future__ import annotations

import time

from tests.deploy.deploy_stack import dashboard_checks, load_dashboards, panel_queries, query

#: How long a query that returned nothing yet is retried (windows filling up).
RETRY_SECONDS = 30


def test_every_dashboard_has_queries() -> None:
    dashboards = load_dashboards()
    assert set(dashboards) == {
        "paywatch-province.json",
        "paywatch-district.json",
        "paywatch-pipeline.json",
    }
    for name, dashboard in dashboards.items():
        assert panel_queries(name, dashboard), name


def test_every_panel_query_parses_and_returns_data(prometheus_url: str) -> None:
    checks = list(dashboard_checks(prometheus_url))
    # 3 dashboards; the district drill-down is checked for each of Hòa Bình's 10 districts.
    assert len(checks) > 100
    pending = {(c[0], tuple(sorted(c[1].items())), c[2]) for c in checks}
    errors: dict[str, str] = {}
    deadline_s = time.monotonic() + RETRY_SECONDS
    while pending:
        for q, combo, expr in sorted(pending, key=lambda c: (c[0].where(), c[1])):
            try:
                result = query(prometheus_url, expr)
            except ValueError as exc:  # refused by Prometheus: a broken query, no retry
                errors[f"{q.where()} {dict(combo)}"] = f"{exc}\n    {expr}"
                pending.discard((q, combo, expr))
                continue
            if result:
                pending.discard((q, combo, expr))
        if not pending or time.monotonic() > deadline_s:
            break
        time.sleep(1)
    for q, combo, expr in pending:
        errors[f"{q.where()} {dict(combo)}"] = f"no data\n    {expr}"
    assert not errors, "\n".join(f"{k}: {v}" for k, v in sorted(errors.items()))


def test_a_broken_query_is_caught(prometheus_url: str) -> None:
    # The harness can fail: a query that does not parse is refused, an unknown series is empty.
    try:
        query(prometheus_url, "sum(paywatch:unit_online_ratio:ytd")
    except ValueError as exc:
        assert "parse" in str(exc)
    else:
        raise AssertionError("an unparsable query was accepted")
    assert query(prometheus_url, 'paywatch:unit_online_ratio:ytd{unit="no-such-unit"}') == []
