"""Fixtures for the deploy/ tests: a private Prometheus with the project's rules, scraping a
paywatch metrics target.

`metrics_target` is the one place that decides WHAT Prometheus scrapes. Today it is a stand-in
process (tests/deploy/deploy_standin.py) that serves the real exporter's output (sinks.metrics)
for counters fed by a seeded random portal, because the stream and the sinks wiring are being
finished in parallel.

TODO(lead): switch `metrics_target` to the real thing once `paywatch worker` serves /metrics:
start a worker with `settings_factory(...)` (own topic prefix, app id and web port), run
`paywatch simulate` (or produce events with the simulator) into its `payments` topic, wait
until its /metrics shows paywatch_unit_payments_total, and yield f"127.0.0.1:{web_port}".
Nothing else in tests/deploy needs to change: the dashboard harness only sees `prometheus_url`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_stack import prometheus, standin_target, wait_for

#: Series the recording rules must have produced before the dashboards are evaluated: the
#: increase()-based ones need at least two scrapes.
READY_SERIES = (
    "paywatch:unit_online_ratio:24h",
    "paywatch:unit_online_ratio:7d",
    "paywatch:unit_payments_by_channel:increase1h",
    "paywatch:unit_target_gap:ytd",
    "paywatch:events:rate1m",
    "paywatch:produce_delay_seconds:p95",
)


@pytest.fixture(scope="session")
def metrics_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a process serving paywatch's /metrics (today: the stand-in; see TODO)."""
    workdir: Path = tmp_path_factory.mktemp("standin")
    with standin_target(workdir) as target:
        yield target


@pytest.fixture(scope="session")
def prometheus_url(metrics_target: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a private Prometheus (Debian's 2.42; temp dir, free port, 1s scrape and
    evaluation) loaded with deploy/prometheus's config and rules and scraping
    `metrics_target`; returned once the recording rules have data."""
    workdir: Path = tmp_path_factory.mktemp("prometheus")
    with prometheus(workdir, [metrics_target]) as url:
        for expr in READY_SERIES:
            assert wait_for(url, expr, timeout=60), f"{expr} has no data after 60s"
        yield url
