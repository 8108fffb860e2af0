"""docker-compose.yml agrees with the project (no Docker engine here, so it is checked, not run)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from streams.cli import app as cli_app
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _defaults_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is checked against the settings' defaults, not the caller's PAYWATCH_* (a
    private stack on other ports runs these tests too)."""
    for name in [n for n in os.environ if n.startswith("PAYWATCH_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _documented_services() -> list[str]:
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("<!-- compose-services -->")[1].split("<!-- /compose-services -->")[0]
    return re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.M)


def _env(service: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) for k, v in service.get("environment", {}).items()}


def test_every_service_the_docs_name_exists(compose: dict[str, Any]) -> None:
    named = _documented_services()
    assert {"kafka", "redis", "prometheus", "alertmanager", "grafana", "simulator"} <= set(named)
    assert len([n for n in named if n.startswith("worker-")]) == 2
    assert set(named) <= set(compose["services"])


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and re.search(r"\d", tag) and tag != "latest", f"{name}: {image} is not pinned"


def test_kafka_is_the_official_image_of_the_local_version(compose: dict[str, Any]) -> None:
    common = (ROOT / "deploy/local/common.sh").read_text()
    local_version = re.search(r'KAFKA_VERSION="\$\{PAYWATCH_KAFKA_VERSION:-([0-9.]+)\}"', common)
    assert local_version
    kafka = compose["services"]["kafka"]
    assert kafka["image"] == f"apache/kafka:{local_version.group(1)}"
    env = _env(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"


def test_workers_and_simulator_point_at_the_compose_servers(compose: dict[str, Any]) -> None:
    defaults = Settings()
    services = compose["services"]
    for name in ("topics", "worker-1", "worker-2", "simulator"):
        env = _env(services[name])
        settings = Settings(**{k.removeprefix("PAYWATCH_").lower(): v for k, v in env.items()})
        broker = urlsplit(settings.broker)
        assert broker.hostname in services and broker.port == urlsplit(defaults.broker).port
        redis = urlsplit(settings.redis_url)
        assert redis.hostname in services
        assert redis.password == urlsplit(defaults.redis_url).password
        assert settings.topic("payments") == defaults.topic("payments") == "payments"
        assert settings.partitions == defaults.partitions
        assert "PAYWATCH_WEB_PORT" not in env  # the default port, which Prometheus scrapes
    for name in ("worker-1", "worker-2"):  # a worker whose step failed exits to be restarted
        assert services[name]["restart"] == "unless-stopped"
    assert "PLAINTEXT://:9092" in _env(services["kafka"])["KAFKA_LISTENERS"]
    assert "--requirepass" in services["redis"]["command"]
    # On the host, the servers answer where the local stack's do (the code's defaults).
    published = {
        p.rsplit(":", 2)[-2] for name in ("kafka", "redis") for p in services[name]["ports"]
    }
    assert {
        str(urlsplit(defaults.broker).port),
        str(urlsplit(defaults.redis_url).port),
    } <= published


def test_commands_are_real_cli_commands(compose: dict[str, Any]) -> None:
    commands = {
        c.name or (c.callback.__name__ if c.callback else "") for c in cli_app.registered_commands
    }
    for name, service in compose["services"].items():
        if "build" in service:
            assert service["command"][0] in commands, f"{name}: {service['command']}"


def test_prometheus_mounts_the_deploy_config(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    mounts = dict(
        v.rsplit(":", 1)[0].split(":", 1) for v in prometheus["volumes"] if v.startswith("./")
    )
    assert mounts["./deploy/prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./deploy/prometheus/rules"] == "/etc/prometheus/rules"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert config["rule_files"] == ["rules/*.yml"]
    targets_dir = mounts["./deploy/prometheus/targets-compose"]
    assert targets_dir == "/etc/prometheus/targets"
    scraped = json.loads((ROOT / "deploy/prometheus/targets-compose/paywatch.json").read_text())
    worker_targets = {t for group in scraped for t in group["targets"]}
    workers = {n for n in compose["services"] if n.startswith("worker-")}
    assert worker_targets == {f"{w}:{Settings().web_port}" for w in workers}


def test_mounts_exist_and_none_is_nested_in_a_read_only_one(compose: dict[str, Any]) -> None:
    # Docker cannot create a mount point inside a read-only bind mount, so a nested mount only
    # works when its mount point already exists in the mounted folder.
    for name, service in compose["services"].items():
        binds = [v.split(":") for v in service.get("volumes", []) if v.startswith("./")]
        for source, target, *_ in binds:
            assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            for outer_source, outer_target, *outer_mode in binds:
                if target.startswith(outer_target + "/") and outer_mode == ["ro"]:
                    inner = ROOT / outer_source / target.removeprefix(outer_target + "/")
                    assert inner.exists(), f"{name}: {target} is inside read-only {outer_target}"


def test_alertmanager_and_grafana_mount_existing_files(compose: dict[str, Any]) -> None:
    for name in ("alertmanager", "grafana"):
        for volume in compose["services"][name]["volumes"]:
            source = volume.split(":", 1)[0]
            assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    assert (ROOT / "deploy/alertmanager/alertmanager.yml").is_file()


def test_each_worker_has_its_own_stable_name_and_instance_id(compose: dict[str, Any]) -> None:
    # Static group membership: a restarted or re-created container must come back under the
    # same instance id and host name (the worker's client id names its host), and two workers
    # must never share one (streams/membership.py refuses the second at start-up).
    workers = {n: s for n, s in compose["services"].items() if n.startswith("worker-")}
    ids = {n: _env(s).get("PAYWATCH_INSTANCE_ID") for n, s in workers.items()}
    assert all(ids.values()) and len(set(ids.values())) == len(workers), ids
    for name, service in workers.items():
        assert Settings(instance_id=ids[name]).instance_id == ids[name]
        assert service["hostname"] == name


def test_the_dashboard_reads_redis_as_its_own_read_only_user(compose: dict[str, Any]) -> None:
    from dashboard.settings import DashboardSettings

    services = compose["services"]
    dashboard = services["dashboard"]
    env = _env(dashboard)
    own = DashboardSettings(
        **{k.removeprefix("PAYWATCH_DASHBOARD_").lower(): v for k, v in env.items()
           if k.startswith("PAYWATCH_DASHBOARD_")}
    )  # fmt: skip
    settings = Settings(
        **{k.removeprefix("PAYWATCH_").lower(): v for k, v in env.items()
           if not k.startswith("PAYWATCH_DASHBOARD_")}
    )  # fmt: skip
    url = urlsplit(own.redis_url)
    assert url.hostname == "redis" and url.username == "paywatch-dashboard"
    assert url.password == urlsplit(DashboardSettings().redis_url).password
    assert dashboard["ports"] == [f"127.0.0.1:{own.port}:{own.port}"]
    assert own.host == "0.0.0.0"
    # the redis service creates that user with the local stack's rules, for the default prefix
    command = services["redis"]["command"]
    user = command[command.index("--user") + 1 :]
    assert user[:3] == ["paywatch-dashboard", "on", f">{url.password}"]
    lines = (ROOT / "deploy/redis/dashboard.acl").read_text().splitlines()
    rules = " ".join(line for line in lines if not line.startswith("#")).split()
    assert user[3:] == [r.replace("@PREFIX@", settings.redis_prefix) for r in rules]


def test_alertmanager_notifies_the_alert_receiver(compose: dict[str, Any]) -> None:
    """The webhooks of alertmanager.yml (127.0.0.1:5001) reach `paywatch alert-receiver`:
    Alertmanager shares its network, and Prometheus sends to Alertmanager there."""
    services = compose["services"]
    receiver = services["alert-receiver"]
    assert receiver["command"][0] == "alert-receiver"
    assert "127.0.0.1:5001:5001" in receiver["ports"]
    assert "127.0.0.1:9093:9093" in receiver["ports"]
    assert services["alertmanager"]["network_mode"] == "service:alert-receiver"
    assert "127.0.0.1:5001/alerts/" in (ROOT / "deploy/alertmanager/alertmanager.yml").read_text()
    sent_to = json.loads((ROOT / "deploy/prometheus/targets-compose/alertmanager.json").read_text())
    assert sent_to == [{"targets": ["alert-receiver:9093"]}]
    runbooks = receiver["command"][receiver["command"].index("--runbooks") + 1]
    assert "COPY deploy/runbooks.md ./deploy/runbooks.md" in (ROOT / "Dockerfile").read_text()
    assert runbooks == "/app/deploy/runbooks.md"


def test_every_port_is_published_on_loopback_only(compose: dict[str, Any]) -> None:
    """The demo is plaintext, so nothing of it may be reachable from another machine."""
    published = 0
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert re.fullmatch(r"127\.0\.0\.1:\d+:\d+", port), f"{name} publishes {port}"
            published += 1
    assert published == 9


def test_the_docs_call_it_the_plaintext_demo_it_is(compose: dict[str, Any]) -> None:
    """docs/security.md says what compose lacks next to `make up`; the file must still lack
    exactly that (securing it means changing those docs too)."""
    services = compose["services"]
    kafka = _env(services["kafka"])
    protocols = dict(p.split(":") for p in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"PLAINTEXT"}
    assert not any("AUTHORIZER" in k or "SASL" in k for k in kafka)
    for name in ("topics", "worker-1", "worker-2", "simulator", "dashboard"):
        env = _env(services[name])
        assert "PAYWATCH_KAFKA_SECURITY_PROTOCOL" not in env, name
        assert urlsplit(env["PAYWATCH_REDIS_URL"]).username in (None, ""), name  # default user
    assert _env(services["grafana"])["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert (
        "A plaintext local demo, NOT the security model of docs/security.md"
        in (ROOT / "docker-compose.yml").read_text()
    )
    security = (ROOT / "docs" / "security.md").read_text()
    section = security.split("## docker compose\n")[1].split("\n## ")[0]
    for claim in (
        "**plaintext local demo**",
        "one `PLAINTEXT` listener, no authentication, no authoriser",
        "the workers write as the default user",
        "anonymous viewers",
        "every port is published on `127.0.0.1` only",
    ):
        assert claim in section, claim
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "It is a **plaintext local demo**" in operations.split("## Docker compose")[1]
