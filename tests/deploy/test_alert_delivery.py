"""An alert reaches a person on the local stack: a real Prometheus with the project's rules
finds a worker down, sends PaywatchWorkerDown to a real Alertmanager with the project's
routing, which notifies the local alert receiver (`paywatch alert-receiver`, as `make up` runs
it): the alert is in its log, `paywatch alerts` lists it, and its absolute runbook_url opens
its runbook section on the receiver."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.deploy_stack import alertmanager, http_get, prometheus, started
from tests.ports import free_port
from tests.processes import PAYWATCH


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real `paywatch alert-receiver` on a free port: (base URL, its log)."""
    port = free_port()
    args = [PAYWATCH, "alert-receiver", "--port", str(port), "--store", str(tmp_path / "a.jsonl")]
    log = tmp_path / "alerts.log"
    with started(args, log, f"http://127.0.0.1:{port}/-/ready"):
        yield f"http://127.0.0.1:{port}", log


def _listed(base: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    return subprocess.run(
        [PAYWATCH, "alerts", "--url", base, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.servers
def test_a_worker_down_alert_reaches_the_local_receiver(
    tmp_path: Path, receiver: tuple[str, Path]
) -> None:
    base, log = receiver
    dead_worker = f"127.0.0.1:{free_port()}"  # nothing listens: up == 0
    with (
        alertmanager(tmp_path, base) as am_url,
        prometheus(
            tmp_path, [dead_worker], alertmanagers=(am_url.removeprefix("http://"),), alert_for="1s"
        ),
    ):
        deadline_s = time.monotonic() + 90
        found: list[dict[str, Any]] = []
        while not found:
            listed = _listed(base, "--json", "--receiver", "ops-oncall")
            assert listed.returncode == 0, listed.stderr
            found = [
                a
                for a in json.loads(listed.stdout)
                if a["labels"].get("alertname") == "PaywatchWorkerDown"
            ]
            assert time.monotonic() < deadline_s, (tmp_path / "alertmanager.log").read_text()[
                -3000:
            ]
            time.sleep(1)
    alert = found[0]
    assert alert["status"] == "firing"
    assert alert["receiver"] == "ops-oncall"
    assert alert["labels"]["instance"] == dead_worker
    assert alert["labels"]["scope"] == "pipeline"
    assert alert["annotations"]["summary"] == f"paywatch worker {dead_worker} is down"
    runbook = alert["annotations"]["runbook_url"]
    assert runbook == "http://127.0.0.1:5001/runbooks#paywatchworkerdown"
    # The receiver's log has one line for it, and `paywatch alerts` prints it for a person.
    assert f"FIRING critical PaywatchWorkerDown [ops-oncall] instance={dead_worker}" in (
        log.read_text()
    )
    table = _listed(base)
    assert f"FIRING critical PaywatchWorkerDown [ops-oncall] instance={dead_worker}" in (
        table.stdout
    )
    assert f"runbook: {runbook}" in table.stdout
    # The runbook it links to (here on this receiver's port) has the section.
    page = http_get(f"{base}/runbooks").decode()
    assert "<h3 id='paywatchworkerdown'>PaywatchWorkerDown</h3>" in page
    # Kept across a restart of the receiver (the store file).
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert any(json.loads(line)["labels"]["alertname"] == "PaywatchWorkerDown" for line in lines)


def test_no_receiver_is_a_message() -> None:
    result = _listed(f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "no alert receiver answers at" in result.stderr
    assert "PAYWATCH_ALERT_RECEIVER_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_port_variable_is_a_message() -> None:
    env = {**os.environ, "PAYWATCH_ALERT_RECEIVER_PORT": "50o1"}
    for command in ("alerts", "alert-receiver"):
        result = subprocess.run(
            [PAYWATCH, command], capture_output=True, text=True, timeout=60, env=env
        )
        assert result.returncode == 2
        assert "PAYWATCH_ALERT_RECEIVER_PORT='50o1': expected a port number 1-65535" in (
            result.stderr
        )
