"""deploy/prometheus/rules: promtool checks them and runs their unit tests
(deploy/prometheus/tests), every alert is complete (severity, summary, description naming the
numbers, runbook entry) and every alert is tested both firing and not firing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.deploy_stack import DEPLOY, RULES

RULE_TESTS = DEPLOY / "prometheus" / "tests"
RUNBOOKS = DEPLOY / "runbooks.md"
RUNBOOK_BASE = "http://127.0.0.1:5001/runbooks"


def _rules() -> list[dict[str, Any]]:
    found = []
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            found.extend(group["rules"])
    return found


def _alerts() -> list[dict[str, Any]]:
    return [r for r in _rules() if "alert" in r]


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_promtool_checks_the_rules() -> None:
    files = sorted(map(str, RULES.glob("*.yml")))
    result = subprocess.run(
        ["promtool", "check", "rules", *files], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files)


@pytest.mark.servers
def test_promtool_rule_unit_tests_pass() -> None:
    files = sorted(map(str, RULE_TESTS.glob("*.yml")))
    assert len(files) >= 4
    result = subprocess.run(
        ["promtool", "test", "rules", *files],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=RULE_TESTS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files), result.stdout


def test_promtool_rule_tests_can_fail(tmp_path: Path) -> None:
    # The unit tests are not vacuous: expecting no alert where one fires makes promtool fail.
    broken = tmp_path / "broken.test.yml"
    broken.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(RULES / "pipeline.yml")],
                "evaluation_interval": "1m",
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": [
                            {"series": 'up{job="paywatch",instance="w"}', "values": "0x10"}
                        ],
                        "alert_rule_test": [
                            {"eval_time": "5m", "alertname": "PaywatchWorkerDown", "exp_alerts": []}
                        ],
                    }
                ],
            }
        )
    )
    result = subprocess.run(
        ["promtool", "test", "rules", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


@pytest.mark.parametrize("alert", _alerts(), ids=lambda a: str(a["alert"]))
def test_every_alert_is_complete(alert: dict[str, Any]) -> None:
    name = alert["alert"]
    assert name.startswith("Paywatch")
    assert alert.get("for"), f"{name}: no `for:`"
    assert alert["labels"]["severity"] in {"critical", "warning"}
    annotations = alert["annotations"]
    assert {"summary", "description", "runbook_url"} <= set(annotations)
    # The numbers: the alert's value, formatted.
    assert "$value" in annotations["summary"] + annotations["description"], name
    if "scope" not in alert["labels"]:  # a unit alert names its unit
        assert "$labels.unit" in annotations["summary"], name
        assert "$labels.unit" in annotations["description"], name
    # Absolute, so that it works from a chat message or an e-mail: the local receiver serves
    # the runbooks (a deployment rewrites the base, docs/alerting.md; the Kubernetes copy's
    # base is generated, tests/deploy/test_kubernetes.py).
    assert annotations["runbook_url"] == f"{RUNBOOK_BASE}#{name.lower()}"


def test_every_alert_has_a_runbook_section() -> None:
    text = RUNBOOKS.read_text(encoding="utf-8")
    sections = re.split(r"^### ", text, flags=re.M)[1:]
    by_anchor = {_anchor(s.split("\n", 1)[0]): s for s in sections}
    for alert in _alerts():
        anchor = alert["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor in by_anchor, f"no runbook section for {alert['alert']}"
        body = by_anchor[anchor]
        for part in ("**Means.**", "**Check.**", "**Do.**"):
            assert part in body, f"{alert['alert']}: runbook lacks {part}"
    # ... and no section for an alert that does not exist.
    assert set(by_anchor) == {a["alert"].lower() for a in _alerts()}
    # Links inside the runbook point at sections that exist.
    for link in re.findall(r"\]\(#([\w-]+)\)", text):
        assert link in by_anchor, link


def test_the_dead_letter_reasons_the_runbook_names_exist() -> None:
    """Each reason the dead-letter runbook names is one the code writes (a quoted literal in
    streams/ or models/), so an operator's `paywatch dead-letters --reason` finds it."""
    text = RUNBOOKS.read_text(encoding="utf-8")
    section = text.split("### PaywatchDeadLetterRateHigh", 1)[1].split("\n### ", 1)[0]
    named = set(re.findall(r"`([a-z]+(?:_[a-z]+)+)`", section))
    assert {"unknown_unit", "malformed_json"} <= named
    code = "".join(
        path.read_text(encoding="utf-8")
        for folder in ("streams", "models")
        for path in (DEPLOY.parent / folder).rglob("*.py")
    )
    written = set(re.findall(r'"([a-z]+(?:_[a-z]+)+)"', code))
    assert named - {"value_text"} <= written, named - written


def _rule_test_cases() -> dict[str, dict[str, int]]:
    """alertname -> {"firing": n, "silent": n} over all alert_rule_test cases."""
    cases: dict[str, dict[str, int]] = {}
    for path in sorted(RULE_TESTS.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for test in doc["tests"]:
            for case in test.get("alert_rule_test", []):
                counts = cases.setdefault(case["alertname"], {"firing": 0, "silent": 0})
                counts["firing" if case.get("exp_alerts") else "silent"] += 1
    return cases


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    cases = _rule_test_cases()
    for alert in _alerts():
        counts = cases.get(alert["alert"], {"firing": 0, "silent": 0})
        assert counts["firing"] >= 1, f"{alert['alert']} is never tested firing"
        assert counts["silent"] >= 1, f"{alert['alert']} is never tested silent"


def test_recording_rule_names_follow_the_convention() -> None:
    for rule in _rules():
        if "record" in rule:
            assert re.fullmatch(r"paywatch:[a-z0-9_]+(:[a-z0-9_]+)?", rule["record"]), rule


def test_unit_alerts_are_routed_by_province_district_and_scope() -> None:
    for alert in _alerts():
        if "scope" in alert["labels"]:
            continue
        assert "group_left (district, scope, name) paywatch:unit_route:info" in alert["expr"]
    route_info = next(r for r in _rules() if r.get("record") == "paywatch:unit_route:info")
    assert route_info["expr"].count("label_replace") == 5
