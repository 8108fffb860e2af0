"""Fixtures for the deploy/ tests: a private Prometheus with the project's rules, scraping a
real paywatch worker fed by a real stream (`metrics_target`)."""

from __future__ import annotations

import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.settings import Settings
from tests.deploy.deploy_stack import prometheus, wait_for
from tests.ports import free_port
from tests.processes import PAYWATCH
from tests.sinks.helpers import drop_keys
from tests.streams.stream_harness import Worker, create_topics, worker_env

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


@pytest.fixture(scope="package")  # the dashboard and doc queries share it
def metrics_target(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, redis_server_url: str
) -> Iterator[str]:
    """host:port of a real `paywatch worker` (with its sinks) fed by a real stream: the portal
    simulator producing 2022 events for Hòa Bình into the worker's own topics while the
    dashboard tests run."""
    unique = uuid.uuid4().hex[:8]
    workdir: Path = tmp_path_factory.mktemp("worker")
    settings = Settings(
        app_id=f"pwdeploy-{unique}",
        broker=f"kafka://{kafka_bootstrap}",
        topic_prefix=f"d{unique}.",
        redis_url=redis_server_url,
        redis_prefix=f"test-d{unique}",
        data_dir=workdir / "data",
        web_port=free_port(),
        processing_guarantee="at_least_once",
    )
    create_topics(settings)
    worker = Worker(settings, workdir / "worker.log").start()
    simulate = [
        PAYWATCH,
        "simulate",
        "--seed",
        "5",
        "--rate",
        "200",
        "--duration-s",
        "300",
        "--from",
        "2022-05-01",
        "--to",
        "2022-06-30",
        "--scenario",
        "bank-outage",
        "--quiet",
    ]
    with (workdir / "simulate.log").open("ab") as log:
        simulator = subprocess.Popen(simulate, env=worker_env(settings), stdout=log, stderr=log)
    target = f"127.0.0.1:{settings.web_port}"
    try:
        deadline_s = time.monotonic() + 120
        while b"paywatch_unit_payments_total{" not in _scrape(target):
            assert worker.alive, (workdir / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline_s, "the worker shows no counted payment after 120s"
            time.sleep(1)
        yield target
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
        worker.stop()
        drop_keys(redis_server_url, settings.redis_prefix)


def _scrape(target: str) -> bytes:
    try:
        with urllib.request.urlopen(f"http://{target}/metrics", timeout=10) as response:
            body: bytes = response.read()
            return body
    except OSError:
        return b""


@pytest.fixture(scope="package")
def prometheus_url(metrics_target: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a private Prometheus (Debian's 2.42; temp dir, free port, 1s scrape and
    evaluation) loaded with deploy/prometheus's config and rules and scraping
    `metrics_target`; returned once the recording rules have data."""
    workdir: Path = tmp_path_factory.mktemp("prometheus")
    with prometheus(workdir, [metrics_target]) as url:
        for expr in READY_SERIES:
            assert wait_for(url, expr, timeout_s=90), f"{expr} has no data after 90s"
        yield url
