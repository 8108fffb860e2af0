"""Helpers for the deploy/ tests: private Prometheus / Alertmanager / stand-in target processes
on free loopback ports in temp dirs, the Prometheus HTTP API, and the queries of the Grafana
dashboards with their template variables filled in.

Every process started here is stopped by the context manager that started it (never the local
stack's shared servers).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.ports import free_port
from tests.processes import stop_process
from tests.tier import refuse_in_unit_tier

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "rules"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"

#: What Grafana substitutes for its built-in interval variables, for a 1s scrape interval.
GRAFANA_BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__interval_ms": "15000",
    "__range": "1h",
    "__range_s": "3600",
}


def http_get(url: str, timeout_s: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        body: bytes = response.read()
        return body


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 30.0) -> None:
    """Wait until ``url`` answers 200; fail early with the log if ``proc`` died."""
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}:\n{log.read_text()}")
        try:
            http_get(url, timeout_s=1.0)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s}s:\n{log.read_text()[-3000:]}")


@contextmanager
def started(args: list[str], log: Path, ready_url: str, timeout_s: float = 30.0) -> Iterator[None]:
    refuse_in_unit_tier(Path(args[0]).name)
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_http(ready_url, proc, log, timeout_s)
        yield
    finally:
        stop_process(proc, grace_s=10)


# -- the stand-in target ------------------------------------------------------------------------


@contextmanager
def standin_target(workdir: Path, seed: int = 17, extra: tuple[str, ...] = ()) -> Iterator[str]:
    """A process serving /metrics in a paywatch worker's shape (tests/deploy/deploy_standin.py);
    yields its host:port."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "tests.deploy.deploy_standin",
        "--port",
        str(port),
        "--seed",
        str(seed),
        *extra,
    ]
    with started(args, workdir / "standin.log", f"http://127.0.0.1:{port}/metrics"):
        yield f"127.0.0.1:{port}"


# -- Prometheus ---------------------------------------------------------------------------------


def fast_rules(source: Path, dest: Path, alert_for: str | None = None) -> None:
    """Copy the rule files without their groups' own ``interval`` (1m, 2m in production), so that
    a test Prometheus evaluates everything at its short global evaluation interval; with
    ``alert_for``, every alert's ``for:`` is that instead."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in doc["groups"]:
            group.pop("interval", None)
            for rule in group["rules"]:
                if alert_for is not None and "alert" in rule:
                    rule["for"] = alert_for
        (dest / path.name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def prometheus_config(interval: str = "1s") -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with every interval shortened to ``interval``."""
    config: dict[str, Any] = yaml.safe_load(
        (DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    )
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
    for job in config["scrape_configs"]:
        job.pop("scrape_interval", None)
    return config


@contextmanager
def prometheus(
    workdir: Path,
    paywatch_targets: list[str],
    interval: str = "1s",
    alertmanagers: tuple[str, ...] = (),
    alert_for: str | None = None,
) -> Iterator[str]:
    """A private Prometheus with the project's config and rules, scraping ``paywatch_targets``
    as job "paywatch" and sending its alerts to ``alertmanagers`` (host:port); yields its base
    URL. ``alert_for`` replaces every alert's ``for:`` (see :func:`fast_rules`)."""
    home = workdir / "prometheus"
    (home / "targets").mkdir(parents=True)
    port = free_port()
    (home / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(interval)))
    fast_rules(RULES, home / "rules", alert_for)
    targets = home / "targets"
    (targets / "paywatch.json").write_text(
        json.dumps([{"targets": paywatch_targets, "labels": {"deployment": "test"}}])
    )
    (targets / "prometheus.json").write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"]}]))
    (targets / "alertmanager.json").write_text(
        json.dumps([{"targets": list(alertmanagers)}] if alertmanagers else [])
    )
    binary = shutil.which("prometheus")
    assert binary, "Debian's prometheus package is needed (deploy/local/install-packages.sh)"
    args = [
        binary,
        f"--config.file={home / 'prometheus.yml'}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    with started(args, workdir / "prometheus.log", f"{url}/-/ready"):
        yield url


# -- Alertmanager -------------------------------------------------------------------------------

ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
#: The webhook base of the project's Alertmanager config: the local stack's alert receiver.
LOCAL_WEBHOOK = "http://127.0.0.1:5001"


def _fast(route: dict[str, Any]) -> None:
    """Shorten a route tree's waits so that a notification leaves within about a second."""
    for key in ("group_wait", "group_interval"):
        if key in route:
            route[key] = "1s"
    for child in route.get("routes", []):
        _fast(child)


@contextmanager
def alertmanager(workdir: Path, hook_base: str) -> Iterator[str]:
    """A real Alertmanager (Debian's) with a copy of the project's config whose webhook URLs
    point to ``hook_base`` (same paths) and whose group waits are 1s; yields its base URL."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert binary, "Debian's prometheus-alertmanager package is needed"
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    assert LOCAL_WEBHOOK in text
    config = yaml.safe_load(text.replace(LOCAL_WEBHOOK, hook_base))
    _fast(config["route"])
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    port = free_port()
    args = [
        binary,
        f"--config.file={config_path}",
        f"--storage.path={workdir / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    url = f"http://127.0.0.1:{port}"
    with started(args, workdir / "alertmanager.log", f"{url}/-/ready"):
        yield url


def query_range(
    url: str, expr: str, start_s: float, end_s: float, step_s: float
) -> list[dict[str, Any]]:
    """Evaluate ``expr`` over [start_s, end_s] (epoch seconds, a point every ``step_s``) through
    /api/v1/query_range: the result matrix."""
    params = {"query": expr, "start": str(start_s), "end": str(end_s), "step": str(step_s)}
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(f"{url}/api/v1/query_range", data=data)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
    samples: list[dict[str, Any]] = body["data"]["result"]
    return samples


def query(url: str, expr: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """Evaluate ``expr`` now through /api/v1/query; the result vector (or scalar as one
    sample). Raises ValueError with Prometheus's message when the query is refused."""
    data = urllib.parse.urlencode({"query": expr}).encode()
    request = urllib.request.Request(f"{url}/api/v1/query", data=data)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        body = json.load(exc)
    if body.get("status") != "success":
        raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
    result = body["data"]
    if result["resultType"] in ("scalar", "string"):
        return [{"metric": {}, "value": result["result"]}]
    samples: list[dict[str, Any]] = result["result"]
    return samples


def wait_for(url: str, expr: str, timeout_s: float) -> list[dict[str, Any]]:
    """Poll ``expr`` until it returns data or ``timeout`` passes (then the last, empty result)."""
    deadline_s = time.monotonic() + timeout_s
    while True:
        result = query(url, expr)
        if result or time.monotonic() > deadline_s:
            return result
        time.sleep(0.5)


# -- Grafana dashboards --------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref: str
    expr: str

    def where(self) -> str:
        return f"{self.dashboard} / {self.panel!r} / {self.ref}"


def load_dashboards() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS.glob("*.json"))
    }


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including the panels inside (collapsed) rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries(name: str, dashboard: dict[str, Any]) -> list[PanelQuery]:
    found = []
    for panel in panels(dashboard):
        for t in panel.get("targets", []):
            if t.get("hide") or "expr" not in t:
                continue
            found.append(PanelQuery(name, panel.get("title", "?"), t.get("refId", "?"), t["expr"]))
    return found


_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


def substitute(expr: str, values: dict[str, str]) -> str:
    """Fill in $var, ${var}, ${var:fmt} and [[var]] like Grafana (single values)."""

    def one(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name in values:
            return values[name]
        if name in GRAFANA_BUILTINS:
            return GRAFANA_BUILTINS[name]
        raise KeyError(f"unknown template variable ${name} in {expr!r}")

    return _VAR.sub(one, expr)


def _variable_query(variable: dict[str, Any]) -> str:
    q = variable.get("query")
    text = q.get("query") if isinstance(q, dict) else q
    if not isinstance(text, str):
        raise ValueError(f"variable {variable.get('name')}: no query")
    return text


def variable_options(url: str, variable: dict[str, Any], values: dict[str, str]) -> list[str]:
    """The values a query variable offers, computed from Prometheus like Grafana does for
    ``label_values(selector, label)`` and ``query_result(expr)`` (+ the variable's regex with
    named groups text/value), sorted by text."""
    text = substitute(_variable_query(variable), values)
    options: list[tuple[str, str]] = []
    if m := re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", text, re.S):
        selector, label = m.groups()
        for sample in query(url, f"group by ({label}) ({selector})"):
            value = sample["metric"].get(label)
            if value:
                options.append((value, value))
    elif m := re.fullmatch(r"\s*query_result\((.*)\)\s*", text, re.S):
        for sample in query(url, m.group(1)):
            labels = ",".join(
                f'{k}="{v}"' for k, v in sorted(sample["metric"].items()) if k != "__name__"
            )
            line = f"{sample['metric'].get('__name__', '')}{{{labels}}} {sample['value'][1]}"
            options.append((line, line))
    else:
        raise ValueError(f"variable {variable['name']}: unsupported query {text!r}")
    regex = variable.get("regex") or ""
    if regex:
        pattern = re.compile(re.sub(r"\(\?<(\w+)>", r"(?P<\1>", regex.strip("/")))
        picked = []
        for line, _ in options:
            if mm := pattern.search(line):
                groups = mm.groupdict()
                value = groups.get("value") or mm.group(1 if mm.groups() else 0)
                picked.append((groups.get("text") or value, value))
        options = picked
    return [value for _text, value in sorted(set(options))]


def variable_combinations(url: str, dashboard: dict[str, Any]) -> list[dict[str, str]]:
    """Every combination of the dashboard's query variables' real values, resolving each
    variable with the values of the variables before it (as Grafana chains them)."""
    combos: list[dict[str, str]] = [{}]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        name = variable["name"]
        nxt: list[dict[str, str]] = []
        for combo in combos:
            options = variable_options(url, variable, combo)
            if not options:
                raise AssertionError(f"variable ${name} has no value for {combo}")
            nxt.extend({**combo, name: option} for option in options)
        combos = nxt
    return combos


def dashboard_checks(url: str) -> Iterator[tuple[PanelQuery, dict[str, str], str]]:
    """(panel query, variable values, filled-in expression) for every panel query of every
    dashboard and every combination of its variables' values."""
    for name, dashboard in load_dashboards().items():
        queries = panel_queries(name, dashboard)
        for combo, q in itertools.product(variable_combinations(url, dashboard), queries):
            yield q, combo, substitute(q.expr, combo)
