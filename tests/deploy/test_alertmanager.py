"""deploy/alertmanager/alertmanager.yml: routing checked with amtool, and real alerts sent
through a real Alertmanager (Debian's 0.25, own temp dir and free loopback ports) to webhook
receivers served by this test on loopback.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.deploy_stack import ALERTMANAGER_CONFIG as CONFIG
from tests.deploy.deploy_stack import RULES
from tests.deploy.deploy_stack import alertmanager as real_alertmanager
from tests.stack.test_make_up_message import printed_message

HOA_BINH_DISTRICTS = ("148", "150", "151", "152", "153", "154", "155", "156", "157", "158", "159")


# -- amtool ---------------------------------------------------------------------------------------


def amtool_route(*labels: str) -> str:
    result = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={CONFIG}", *labels],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_amtool_accepts_the_config() -> None:
    result = subprocess.run(
        ["amtool", "check-config", str(CONFIG)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("district", HOA_BINH_DISTRICTS)
def test_district_alerts_go_to_the_district_contact(district: str) -> None:
    labels = ("alertname=PaywatchUnitBelowTarget", "scope=district", "province=17")
    assert amtool_route(*labels, f"district={district}") == f"district-17-{district}"


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (("alertname=PaywatchUnitBelowTarget", "scope=province", "province=17", "unit=17"),
         "ops-oncall"),
        (("alertname=PaywatchUnitPaymentsStopped", "scope=province", "province=17",
          "unit=17.SYT"), "ops-oncall"),
        (("alertname=PaywatchWorkerDown", "scope=pipeline", "instance=w1:6066"), "ops-oncall"),
        (("alertname=PaywatchConsumerLagHigh", "scope=pipeline", "topic=payments"), "ops-oncall"),
        # A district of another province has no contact here: ops on-call.
        (("alertname=PaywatchUnitBelowTarget", "scope=district", "province=01", "district=001"),
         "ops-oncall"),
        # Same district code, wrong province: not Hòa Bình's contact.
        (("alertname=PaywatchUnitBelowTarget", "scope=district", "province=25", "district=152"),
         "ops-oncall"),
    ],
)  # fmt: skip
def test_other_alerts_go_to_ops(labels: tuple[str, ...], receiver: str) -> None:
    assert amtool_route(*labels) == receiver


def test_every_alert_of_the_rules_has_a_route_scope() -> None:
    """Pipeline alerts carry scope=pipeline; unit alerts get scope from the route info join."""
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                scope = rule.get("labels", {}).get("scope")
                if scope is None:
                    assert (
                        "group_left (district, scope, name) paywatch:unit_route:info"
                        in (rule["expr"])
                    ), rule["alert"]
                else:
                    assert scope == "pipeline", rule["alert"]


# -- a real Alertmanager ------------------------------------------------------------------------


@dataclass
class Webhooks:
    """Notifications received on loopback: (path, payload)."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, path: str, payload: dict[str, Any]) -> None:
        with self.cond:
            self.received.append((path, payload))
            self.cond.notify_all()

    def wait_for(self, path: str, alertname: str, timeout_s: float = 20.0) -> dict[str, Any]:
        deadline_s = time.monotonic() + timeout_s
        with self.cond:
            while True:
                for got_path, payload in self.received:
                    names = {a["labels"].get("alertname") for a in payload["alerts"]}
                    if got_path == path and alertname in names:
                        return payload
                left_s = deadline_s - time.monotonic()
                if left_s <= 0:
                    raise AssertionError(f"no {alertname} at {path}; got {self.summary()}")
                self.cond.wait(left_s)

    def summary(self) -> list[tuple[str, list[str]]]:
        with self.cond:
            return [
                (p, [a["labels"].get("alertname", "?") for a in payload["alerts"]])
                for p, payload in self.received
            ]


def _webhook_server(hooks: Webhooks) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            hooks.add(self.path, json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="webhooks", daemon=True).start()
    return server


@dataclass
class RunningAlertmanager:
    url: str
    hooks: Webhooks

    def post(self, *alerts: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        body = [
            {
                "labels": a["labels"],
                "annotations": a.get("annotations", {"summary": "test"}),
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(minutes=10)).isoformat(),
            }
            for a in alerts
        ]
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as response:
            found: list[dict[str, Any]] = json.load(response)
            return found


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[RunningAlertmanager]:
    """A real Alertmanager with a temp copy of the project's config whose webhook URLs point to
    this test's loopback server (same paths) and whose group waits are 1s."""
    hooks = Webhooks()
    server = _webhook_server(hooks)
    try:
        with real_alertmanager(tmp_path, f"http://127.0.0.1:{server.server_address[1]}") as url:
            yield RunningAlertmanager(url, hooks)
    finally:
        server.shutdown()
        server.server_close()


def unit_alert(alertname: str, unit: str, level: str, district: str | None) -> dict[str, Any]:
    labels = {
        "alertname": alertname,
        "severity": "warning",
        "unit": unit,
        "level": level,
        "province": "17",
        "scope": "district" if district else "province",
    }
    if district:
        labels["district"] = district
    return {"labels": labels, "annotations": {"summary": f"{level} {unit} test"}}


WORKER_DOWN = {
    "labels": {
        "alertname": "PaywatchWorkerDown",
        "severity": "critical",
        "scope": "pipeline",
        "job": "paywatch",
        "instance": "127.0.0.1:6066",
    }
}


@pytest.mark.servers
def test_a_commune_alert_reaches_its_district_contact(alertmanager: RunningAlertmanager) -> None:
    alertmanager.post(unit_alert("PaywatchUnitBelowTarget", "04924", "commune", "152"))
    payload = alertmanager.hooks.wait_for("/alerts/district-17-152", "PaywatchUnitBelowTarget")
    assert payload["receiver"] == "district-17-152"
    assert payload["groupLabels"] == {"province": "17", "district": "152"}
    assert payload["alerts"][0]["labels"]["unit"] == "04924"
    assert payload["alerts"][0]["status"] == "firing"
    # Nobody else got it.
    assert [p for p, _ in alertmanager.hooks.summary()] == ["/alerts/district-17-152"]


@pytest.mark.servers
def test_province_level_and_pipeline_alerts_reach_ops(alertmanager: RunningAlertmanager) -> None:
    alertmanager.post(unit_alert("PaywatchUnitBelowTarget", "17.SYT", "department", None))
    payload = alertmanager.hooks.wait_for("/alerts/ops-oncall", "PaywatchUnitBelowTarget")
    assert payload["receiver"] == "ops-oncall"
    assert payload["alerts"][0]["labels"]["unit"] == "17.SYT"
    alertmanager.post(WORKER_DOWN)
    payload = alertmanager.hooks.wait_for("/alerts/ops-oncall", "PaywatchWorkerDown")
    assert payload["groupLabels"] == {
        "alertname": "PaywatchWorkerDown",
        "instance": "127.0.0.1:6066",
    }


@pytest.mark.servers
def test_unit_alerts_are_inhibited_while_the_pipeline_is_down(
    alertmanager: RunningAlertmanager,
) -> None:
    alertmanager.post(WORKER_DOWN)
    alertmanager.hooks.wait_for("/alerts/ops-oncall", "PaywatchWorkerDown")
    alertmanager.post(
        unit_alert("PaywatchUnitPaymentsStopped", "04789", "commune", "148"),
        unit_alert("PaywatchUnitBelowTarget", "17", "province", None),
    )
    # Alertmanager has both and marks them inhibited by the worker-down alert ...
    deadline_s = time.monotonic() + 10
    while True:
        states = {
            a["labels"]["alertname"] + "/" + a["labels"].get("unit", ""): a["status"]
            for a in alertmanager.alerts()
        }
        unit_states = [s for k, s in states.items() if not k.startswith("PaywatchWorkerDown")]
        if len(unit_states) == 2 and all(s["inhibitedBy"] for s in unit_states):
            break
        assert time.monotonic() < deadline_s, states
        time.sleep(0.2)
    assert all(s["state"] == "suppressed" for s in unit_states)
    # ... and no notification goes out for them (group_wait is 1s here; give it 4).
    time.sleep(4)
    paths = [p for p, _ in alertmanager.hooks.summary()]
    assert paths == ["/alerts/ops-oncall"], alertmanager.hooks.summary()


@pytest.mark.servers
def test_a_silent_province_inhibits_its_units_silence(alertmanager: RunningAlertmanager) -> None:
    province_stopped = unit_alert("PaywatchProvincePaymentsStopped", "17", "province", None)
    alertmanager.post(province_stopped)
    alertmanager.hooks.wait_for("/alerts/ops-oncall", "PaywatchProvincePaymentsStopped")
    alertmanager.post(
        unit_alert("PaywatchUnitPaymentsStopped", "04789", "commune", "148"),
        # Another kind of alert of the same district is not held back.
        unit_alert("PaywatchUnitOnlineShareDrop", "04795", "commune", "148"),
    )
    payload = alertmanager.hooks.wait_for("/alerts/district-17-148", "PaywatchUnitOnlineShareDrop")
    names = {a["labels"]["alertname"] for a in payload["alerts"]}
    assert names == {"PaywatchUnitOnlineShareDrop"}
    time.sleep(2)
    for path, sent in alertmanager.hooks.received:
        for alert in sent["alerts"]:
            assert alert["labels"]["alertname"] != "PaywatchUnitPaymentsStopped", path


# -- the e-mail and Telegram examples ------------------------------------------------------------

EXAMPLES = CONFIG.parent / "examples"


@pytest.mark.parametrize("name", ["email.yml", "telegram.yml"])
def test_the_channel_examples_pass_amtool_and_route_like_the_project(name: str) -> None:
    example = EXAMPLES / name
    check = subprocess.run(
        ["amtool", "check-config", str(example)], capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stdout + check.stderr
    kind = "email_configs" if name == "email.yml" else "telegram_configs"
    doc = yaml.safe_load(example.read_text(encoding="utf-8"))
    assert all(kind in receiver for receiver in doc["receivers"])
    assert doc["inhibit_rules"] == yaml.safe_load(CONFIG.read_text())["inhibit_rules"]

    def route(*labels: str) -> str:
        result = subprocess.run(
            ["amtool", "config", "routes", "test", f"--config.file={example}", *labels],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert route("scope=district", "province=17", "district=148") == "district-17-148"
    assert route("scope=pipeline", "alertname=PaywatchWorkerDown") == "ops-oncall"
    assert route("scope=province", "province=17") == "ops-oncall"


# -- the runbook's amtool commands ---------------------------------------------------------------


def _runbook_amtool_commands() -> list[str]:
    """The `amtool $AM ...` lines of the runbooks' shell block (continuations joined)."""
    text = (RULES.parents[1] / "runbooks.md").read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    return [
        " ".join(line.split("#", 1)[0].split()) for line in joined.splitlines() if "amtool" in line
    ]


@pytest.mark.servers
def test_the_runbook_silence_commands_work(alertmanager: RunningAlertmanager) -> None:
    commands = _runbook_amtool_commands()
    adds = [c for c in commands if " silence add " in c]
    assert len(adds) >= 2 and any(c.endswith("silence query") for c in commands)
    alertmanager.post(unit_alert("PaywatchUnitPaymentsStopped", "04789", "commune", "148"))
    flag = f"--alertmanager.url={alertmanager.url}"
    for command in adds:
        shell = command.replace("$AM", flag).replace('"$USER"', "test")
        done = subprocess.run(shell, shell=True, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, shell + "\n" + done.stderr
        assert re.fullmatch(r"[0-9a-f-]{36}", done.stdout.strip()), done.stdout  # the silence id
    listed = subprocess.run(
        ["amtool", flag, "silence", "query", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    silences = json.loads(listed.stdout)
    assert {s["comment"] for s in silences} >= {"public holiday 2/9"}
    # The holiday silence covers the province's unit alert: Alertmanager marks it silenced.
    deadline_s = time.monotonic() + 10
    while True:
        states = [a["status"] for a in alertmanager.alerts()]
        if states and states[0]["silencedBy"]:
            break
        assert time.monotonic() < deadline_s, states
        time.sleep(0.2)


@pytest.mark.servers
def test_the_amtool_commands_make_up_prints_work(alertmanager: RunningAlertmanager) -> None:
    """`make up` prints amtool commands (Debian's Alertmanager has no web UI, so no "UI" URL):
    run as printed, on this Alertmanager, they list a firing alert and silence it."""
    printed = printed_message()
    assert "Alertmanager UI" not in printed
    commands = [line.split("amtool", 1)[1] for line in printed.splitlines() if " amtool " in line]
    assert len(commands) == 2
    listing, silencing = commands
    alertmanager.post(WORKER_DOWN)
    local = "--alertmanager.url=http://127.0.0.1:9093"
    assert listing.split() == [local, "alert", "query"]
    flag = f"--alertmanager.url={alertmanager.url}"
    query = subprocess.run(
        f"amtool {listing.replace(local, flag)}",
        shell=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert query.returncode == 0, query.stderr
    assert "PaywatchWorkerDown" in query.stdout
    shell = f"amtool {silencing.replace(local, flag).replace('NAME', 'PaywatchWorkerDown')}"
    added = subprocess.run(shell, shell=True, capture_output=True, text=True, timeout=30)
    assert added.returncode == 0, shell + "\n" + added.stderr
    assert re.fullmatch(r"[0-9a-f-]{36}", added.stdout.strip()), added.stdout
    deadline_s = time.monotonic() + 10
    while not [a for a in alertmanager.alerts() if a["status"]["silencedBy"]]:
        assert time.monotonic() < deadline_s, alertmanager.alerts()
        time.sleep(0.2)
