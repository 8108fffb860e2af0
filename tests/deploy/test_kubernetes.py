"""deploy/kubernetes/: the generated manifests never drift from their sources; every manifest
passes the Kubernetes schemas (kubernetes-validate's bundled ones, offline, strict) and the
Prometheus Operator objects a structural check and promtool; and the manifests keep what
matters: probes on the paths the worker serves (liveness not readiness), a volume per worker
for its tables, the instance id from the pod name, settings paywatch knows with valid values,
no literal secret, commands the CLI has; every alert's runbook_url an absolute link to the
deployment's runbooks page (chosen with generate.py --runbooks-url), never a loopback address."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any, cast

import jsonschema
import kubernetes_validate
import pytest
import yaml
from typer.main import get_command

from dashboard.server import DashboardConfig, make_app
from dashboard.settings import DashboardSettings
from models.registry import Registry
from models.targets import Targets
from streams import health
from streams.cli import app as cli
from streams.settings import Settings
from streams.worker_process import LAST_CHECKPOINT_S, REDIS_DRAIN_S
from tests.deploy import kube_manifests as kube
from tests.deploy.deploy_stack import DEPLOY, ROOT
from tests.deploy.kube_manifests import KUBE

#: The oldest Kubernetes version still supported upstream when this was written, and the newest
#: schemas the pinned kubernetes-validate bundles.
VERSIONS = ("1.32.0", "1.37.0")
CRDS = {"ServiceMonitor", "PrometheusRule"}
#: docs/benchmarks.md: the worker's highest peak RSS (`paywatch replay` of 1M rows).
PEAK_RSS_MIB = 1479


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("kube_generate", KUBE / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- generated files -----------------------------------------------------------------------------


def test_generated_manifests_are_what_generate_py_writes() -> None:
    gen = _generator()
    assert set(gen.FILES) == {
        "prometheusrule.yaml",
        "servicemonitor.yaml",
        "targets-configmap.yaml",
    }
    for name in gen.FILES:
        committed = (KUBE / name).read_text(encoding="utf-8")
        assert committed == gen.render(name), (
            f"deploy/kubernetes/{name} is stale: run .venv/bin/python deploy/kubernetes/generate.py"
        )


def _source_groups() -> list[dict[str, Any]]:
    groups = []
    for path in sorted((DEPLOY / "prometheus" / "rules").glob("*.yml")):
        groups.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    return groups


def _without_runbooks(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for group in groups:
        for rule in group["rules"]:
            rule.get("annotations", {}).pop("runbook_url", None)
    return groups


def test_the_generated_objects_hold_exactly_their_sources() -> None:
    """The rules as they are, but for each alert's runbook_url (next test)."""
    rules = kube.one("PrometheusRule", "paywatch")
    assert _without_runbooks(rules["spec"]["groups"]) == _without_runbooks(_source_groups())
    targets = kube.config("paywatch-targets")
    files = {p.name: p.read_text(encoding="utf-8") for p in (DEPLOY / "targets").glob("*.yaml")}
    assert targets == files
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text("utf-8"))
    [job] = [j for j in prometheus["scrape_configs"] if j["job_name"] == "paywatch"]
    [endpoint] = kube.one("ServiceMonitor", "paywatch-worker")["spec"]["endpoints"]
    assert endpoint["interval"] == job["scrape_interval"]


def _alerts(rule_object: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for g in rule_object["spec"]["groups"] for r in g["rules"] if "alert" in r]


def test_every_runbook_url_names_the_deployments_runbooks_never_a_loopback_address() -> None:
    """The sources' runbook_url names the local stack's receiver (127.0.0.1:5001), which only
    the machine running `make up` has; the cluster's copy names the page the PrometheusRule's
    annotation holds, absolute, each alert at its own section of deploy/runbooks.md."""
    gen = _generator()
    rule_object = kube.one("PrometheusRule", "paywatch")
    base = rule_object["metadata"]["annotations"]["paywatch/runbooks-url"]
    assert gen.check_runbooks_url(base) == base
    sections = {
        line.removeprefix("### ").strip().lower()
        for line in (DEPLOY / "runbooks.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("### ")
    }
    alerts = _alerts(rule_object)
    assert len(alerts) == 14
    for alert in alerts:
        url = alert["annotations"]["runbook_url"]
        assert url == f"{base}#{alert['alert'].lower()}"
        assert "127.0.0.1" not in url and "localhost" not in url
        assert url.split("#")[1] in sections, f"no runbook section for {alert['alert']}"


def test_the_runbooks_url_is_chosen_when_generating_and_checked() -> None:
    gen = _generator()
    chosen = "https://gitlab.sotttt.hoabinh.gov.vn/ops/paywatch/-/blob/v0.1.0/deploy/runbooks.md"
    rule_object = yaml.safe_load(gen.render("prometheusrule.yaml", chosen))
    assert rule_object["metadata"]["annotations"] == {"paywatch/runbooks-url": chosen}
    assert {a["annotations"]["runbook_url"].split("#")[0] for a in _alerts(rule_object)} == {chosen}
    for wrong, why in [
        ("http://127.0.0.1:5001/runbooks", "127.0.0.1 is the reader's own machine"),
        ("http://localhost:5001/runbooks", "localhost is the reader's own machine"),
        ("deploy/runbooks.md", "expected an absolute https:// address"),
        ("https://git.example.gov.vn/runbooks.md#top", "expected no #fragment"),
    ]:
        with pytest.raises(gen.RunbooksUrlError, match=why):
            gen.render("prometheusrule.yaml", wrong)


def test_generate_py_refuses_a_loopback_runbooks_url_and_writes_nothing() -> None:
    before = {p.name: p.read_text(encoding="utf-8") for p in KUBE.glob("*.yaml")}
    done = subprocess.run(
        [sys.executable, str(KUBE / "generate.py"), "--runbooks-url", "http://[::1]:5001/rb"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "generate.py: --runbooks-url=http://[::1]:5001/rb: ::1 is the reader's own machine, not "
        "where the runbooks are served; give the address where people read deploy/runbooks.md "
        "(docs/kubernetes.md, Runbook links)\n"
    )
    assert {p.name: p.read_text(encoding="utf-8") for p in KUBE.glob("*.yaml")} == before


# -- schemas ---------------------------------------------------------------------------------------


def test_the_kustomization_lists_every_manifest_and_the_image_of_the_workloads() -> None:
    kustomization = kube.kustomization()
    files = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    [image] = kustomization["images"]
    for workload in (kube.worker(), kube.dashboard()):
        assert kube.container(workload)["image"] == image["name"]
    namespaces = [d for d in kube.manifests() if d["kind"] == "Namespace"]
    assert [n["metadata"]["name"] for n in namespaces] == [kustomization["namespace"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_passes_the_kubernetes_schemas(version: str) -> None:
    checked = 0
    for doc in kube.manifests():
        if doc["kind"] in CRDS:
            continue
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise AssertionError(f"{name} against Kubernetes {version}: {error.message}") from None
        checked += 1
    assert checked == len(kube.manifests()) - len(CRDS) == 10


#: The parts of the Prometheus Operator's CRDs these objects use (monitoring.coreos.com/v1);
#: kubernetes-validate bundles no CRD schema.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "selector": {
                    "type": "object",
                    "properties": {"matchLabels": {"type": "object"}},
                    "additionalProperties": False,
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                        },
                    },
                },
            },
        },
    },
}
PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "spec": {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string"},
                            "interval": {"type": "string"},
                            "rules": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["expr"],
                                    "oneOf": [{"required": ["record"]}, {"required": ["alert"]}],
                                    "additionalProperties": False,
                                    "properties": {
                                        "record": {"type": "string"},
                                        "alert": {"type": "string"},
                                        "expr": {"type": "string"},
                                        "for": {"type": "string"},
                                        "labels": {"type": "object"},
                                        "annotations": {"type": "object"},
                                    },
                                },
                            },
                        },
                    },
                }
            },
        },
    },
}


def test_the_prometheus_operator_objects_are_well_formed_and_promtool_takes_the_rules(
    tmp_path: Path,
) -> None:
    monitor, rules = (
        kube.one("ServiceMonitor", "paywatch-worker"),
        kube.one("PrometheusRule", "paywatch"),
    )
    jsonschema.validate(monitor, SERVICE_MONITOR)
    jsonschema.validate(rules, PROMETHEUS_RULE)
    names = [g["name"] for g in rules["spec"]["groups"]]
    assert len(names) == len(set(names))
    path = tmp_path / "paywatch.rules.yml"
    path.write_text(yaml.safe_dump({"groups": rules["spec"]["groups"]}), encoding="utf-8")
    checked = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_service_monitor_scrapes_the_worker_service_as_job_paywatch() -> None:
    monitor = kube.one("ServiceMonitor", "paywatch-worker")["spec"]
    service = kube.one("Service", "paywatch-worker")
    labels = service["metadata"]["labels"]
    assert monitor["selector"]["matchLabels"].items() <= labels.items()
    # The rules select job="paywatch": the job label is the value of this Service label.
    assert labels[monitor["jobLabel"]] == "paywatch"
    assert {e["port"] for e in monitor["endpoints"]} <= {
        p["name"] for p in service["spec"]["ports"]
    }
    assert {e["path"] for e in monitor["endpoints"]} == {"/metrics"}
    # The dashboard's Service is not scraped.
    dashboard_labels = kube.one("Service", "paywatch-dashboard")["metadata"]["labels"]
    assert not monitor["selector"]["matchLabels"].items() <= dashboard_labels.items()


# -- the workers -----------------------------------------------------------------------------------


def _cli_commands() -> set[str]:
    commands: dict[str, Any] = cast(Any, get_command(cli)).commands
    return set(commands)


def test_the_workloads_run_commands_the_cli_has() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^paywatch = "streams\.cli:main"$', pyproject, flags=re.M)
    commands = _cli_commands()
    for workload, command in ((kube.worker(), "worker"), (kube.dashboard(), "dashboard")):
        container = kube.container(workload)
        assert container["command"] == ["paywatch"]
        assert container["args"] == [command]
        assert command in commands


def test_a_worker_has_its_own_volume_its_pod_name_as_instance_id_and_a_headless_service() -> None:
    worker = kube.worker()
    spec, pod = worker["spec"], worker["spec"]["template"]["spec"]
    container = kube.container(worker)
    [claim] = spec["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == kube.settings_of(container)["PAYWATCH_DATA_DIR"]
    assert claim["metadata"]["name"] not in {v["name"] for v in pod["volumes"]}
    [instance] = [v for v in container["env"] if v["name"] == "PAYWATCH_INSTANCE_ID"]
    assert instance["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    service = kube.one("Service", spec["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True
    pod_labels = worker["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    assert spec["replicas"] <= int(kube.settings_of(container)["PAYWATCH_PARTITIONS"])
    budget = kube.one("PodDisruptionBudget", "paywatch-worker")["spec"]
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()
    assert budget["maxUnavailable"] == 1


def test_the_worker_probes_point_at_the_health_pages_liveness_never_at_readiness() -> None:
    container = kube.container(kube.worker())
    settings = kube.settings_of(container)
    [port] = container["ports"]
    assert port["containerPort"] == int(settings["PAYWATCH_WEB_PORT"])
    assert settings["PAYWATCH_WEB_HOST"] == "0.0.0.0"  # the kubelet probes the pod's address
    for probe, path in (
        ("startupProbe", health.HEALTHZ),
        ("livenessProbe", health.HEALTHZ),
        ("readinessProbe", health.READYZ),
    ):
        assert container[probe]["httpGet"] == {"path": path, "port": port["name"]}, probe
    assert health.HEALTHZ != health.READYZ
    # The readiness page's stall window is longer than what liveness tolerates being unanswered:
    # a slow event loop is a liveness matter, a stalled partition only a readiness one.
    live = container["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= 60
    assert (
        container["startupProbe"]["periodSeconds"] * container["startupProbe"]["failureThreshold"]
        >= float(settings["PAYWATCH_SESSION_TIMEOUT_S"]) + 5
    )


def test_the_grace_period_covers_the_workers_own_bounded_stop() -> None:
    grace = kube.worker()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert LAST_CHECKPOINT_S + REDIS_DRAIN_S + 2 <= grace <= 30


def test_resources_are_sized_from_the_benchmarks() -> None:
    resources = kube.container(kube.worker())["resources"]
    mib = {"Mi": 1, "Gi": 1024}

    def memory(value: str) -> int:
        return int(value[:-2]) * mib[value[-2:]]

    assert float(resources["requests"]["cpu"]) >= 1  # one worker at full speed: about a core
    assert memory(resources["requests"]["memory"]) >= 712  # 1M whole-country events counted
    assert memory(resources["limits"]["memory"]) >= PEAK_RSS_MIB * 1.2


def test_pods_run_as_non_root_on_a_read_only_root_with_every_writable_path_a_volume() -> None:
    for workload in (kube.worker(), kube.dashboard()):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] > 0
        assert pod["automountServiceAccountToken"] is False
        container = kube.container(workload)
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
        assert "/tmp" in writable
        home = [v["value"] for v in container["env"] if v["name"] == "HOME"]
        assert home == ["/tmp"]


def test_every_setting_is_one_paywatch_reads_with_a_valid_value(tmp_path: Path) -> None:
    # A mounted secret's file: a stand-in with a line in it, where the setting names one.
    secret = tmp_path / "secret"
    secret.write_text("stand-in\n", encoding="utf-8")
    known = {f"PAYWATCH_{n.upper()}" for n in Settings.model_fields}
    known |= {f"PAYWATCH_DASHBOARD_{n.upper()}" for n in DashboardSettings.model_fields}
    # `paywatch dashboard` reads the workers' settings too (provinces, targets, key prefix).
    for workload in (kube.worker(), kube.dashboard()):
        container = kube.container(workload)
        values = kube.settings_of(container)
        names = {v["name"] for v in container["env"]} | set(values)
        assert {n for n in names if n.startswith("PAYWATCH_")} <= known
        own = {k: v for k, v in values.items() if k.startswith("PAYWATCH_DASHBOARD_")}
        for model, prefix, chosen in (
            (Settings, "PAYWATCH_", {k: v for k, v in values.items() if k not in own}),
            (DashboardSettings, "PAYWATCH_DASHBOARD_", own),
        ):
            fields = {
                k.removeprefix(prefix).lower(): str(secret) if k.endswith("_FILE") else v
                for k, v in chosen.items()
            }
            model.model_validate(fields)
    # A worker on the workers' settings: the files of its secrets lie in mounted Secrets.
    container = kube.container(kube.worker())
    secrets = {
        v["name"]: v["secret"]["secretName"]
        for v in kube.worker()["spec"]["template"]["spec"]["volumes"]
        if "secret" in v
    }
    mounted = {m["mountPath"]: m["name"] for m in container["volumeMounts"] if m["name"] in secrets}
    for name, path in kube.settings_of(container).items():
        if name.endswith("_FILE"):
            assert str(Path(path).parent) in mounted, f"{name}={path} is in no mounted Secret"


def test_no_secret_is_written_in_the_manifests() -> None:
    kinds = {d["kind"] for d in kube.manifests()}
    assert "Secret" not in kinds
    password_in_url = re.compile(r"://[^/@\s:]*:[^/@\s]+@")
    for doc in kube.manifests():
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] != "paywatch-targets":
            for key, value in doc["data"].items():
                assert not password_in_url.search(value), key
                if re.search("PASSWORD|SECRET|TOKEN", key):
                    assert key.endswith("_FILE"), key
    for workload in (kube.worker(), kube.dashboard()):
        for var in kube.container(workload).get("env", []):
            if re.search("PASSWORD|SECRET|TOKEN|REDIS_URL", var["name"]):
                assert "secretKeyRef" in var.get("valueFrom", {}), var["name"]
    dashboard_env = {v["name"]: v for v in kube.container(kube.dashboard())["env"]}
    ref = dashboard_env["PAYWATCH_DASHBOARD_REDIS_URL"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == "paywatch-redis-dashboard"  # its own read-only user, not the worker's
    worker_secrets = {
        v["secret"]["secretName"]
        for v in kube.worker()["spec"]["template"]["spec"]["volumes"]
        if "secret" in v
    }
    assert ref["name"] not in worker_secrets


def test_the_dashboard_probes_paths_it_serves_and_reads_the_same_view_as_the_workers() -> None:
    registry = Registry.load({"17"})
    config = DashboardConfig(
        host="127.0.0.1",
        port=0,
        redis_url="redis://127.0.0.1:1/0",
        prefix="pw",
        registry=registry,
        targets=None,
        province="17",
        stale_after_s=60,
        pinned_day=date(2022, 1, 1),
    )
    routes = {r.resource.canonical for r in make_app(config).router.routes() if r.resource}
    container = kube.container(kube.dashboard())
    path = container["readinessProbe"]["httpGet"]["path"]
    assert path in routes
    assert "httpGet" not in container["livenessProbe"]  # a Redis outage is no reason to restart
    [port] = container["ports"]
    env = {v["name"]: v.get("value") for v in container["env"]}
    assert port["containerPort"] == int(env["PAYWATCH_DASHBOARD_PORT"])
    assert env["PAYWATCH_DASHBOARD_HOST"] == "0.0.0.0"
    # The keys, provinces and targets the dashboard reads are the workers' (one shared ConfigMap).
    shared = {s["configMapRef"]["name"] for s in container["envFrom"]}
    worker_maps = {s["configMapRef"]["name"] for s in kube.container(kube.worker())["envFrom"]}
    assert shared <= worker_maps
    assert {"PAYWATCH_REDIS_PREFIX", "PAYWATCH_PROVINCES", "PAYWATCH_TARGETS_DIR"} <= set(
        kube.config("paywatch-common")
    )


def test_the_targets_config_map_loads_as_the_kubelet_mounts_it(tmp_path: Path) -> None:
    # A ConfigMap volume: the files in a hidden timestamped folder, "..data" linking to it, and
    # each key a link through "..data" (what makes an update atomic).
    mount = tmp_path / "targets"
    stamped = mount / "..2026_11_29_18_00_00.123456789"
    stamped.mkdir(parents=True)
    data = kube.config("paywatch-targets")
    for key, text in data.items():
        (stamped / key).write_text(text, encoding="utf-8")
    (mount / "..data").symlink_to(stamped.name)
    for key in data:
        (mount / key).symlink_to(Path("..data") / key)
    registry = Registry.load({"17"})
    targets = Targets.load(mount, registry)
    assert targets.years() == sorted(int(Path(key).stem) for key in data)
    assert targets.years() == Targets.load(DEPLOY / "targets", registry).years()


def _referenced_secrets() -> set[tuple[str, str]]:
    """(Secret, key) of every Secret the workloads use."""
    out = set()
    for workload in (kube.worker(), kube.dashboard()):
        pod = workload["spec"]["template"]["spec"]
        container = kube.container(workload)
        settings = kube.settings_of(container)
        for volume in pod["volumes"]:
            if "secret" not in volume:
                continue
            [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
            for value in settings.values():
                if Path(value).parent == Path(mount["mountPath"]):
                    out.add((volume["secret"]["secretName"], Path(value).name))
        for var in container.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                out.add((ref["name"], ref["key"]))
    return out


def test_the_documented_secret_generator_makes_every_secret_the_workloads_use() -> None:
    text = (ROOT / "docs" / "kubernetes.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```yaml\n(# overlays/.*?)```", text, flags=re.S)
    overlay = yaml.safe_load(block)
    assert overlay["namespace"] == kube.kustomization()["namespace"]
    assert overlay["resources"] == ["../../deploy/kubernetes"]
    generated = {
        (secret["name"], entry.split("=", 1)[0])
        for secret in overlay["secretGenerator"]
        for entry in secret["files"]
    }
    assert generated == _referenced_secrets()
    assert len(generated) == 4


def test_only_prometheus_may_reach_the_workers_web_port() -> None:
    policy = kube.one("NetworkPolicy", "paywatch-worker")["spec"]
    pod_labels = kube.worker()["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    [rule] = policy["ingress"]
    [source] = rule["from"]
    assert set(source) == {"namespaceSelector"}  # Prometheus's namespace, nobody else
    [endpoint] = kube.one("ServiceMonitor", "paywatch-worker")["spec"]["endpoints"]
    assert rule["ports"] == [{"port": endpoint["port"], "protocol": "TCP"}]
