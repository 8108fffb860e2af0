"""The Grafana dashboards and provisioning files are well-formed and consistent: generated
from deploy/grafana/generate.py, stable uids, the provisioned datasource, recording rules that
exist, provisioning paths that docker-compose mounts."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import yaml

from tests.deploy.deploy_stack import (
    DASHBOARDS,
    DEPLOY,
    ROOT,
    RULES,
    load_dashboards,
    panel_queries,
    panels,
)

UIDS = {
    "paywatch-province.json": "paywatch-province",
    "paywatch-district.json": "paywatch-district",
    "paywatch-pipeline.json": "paywatch-pipeline",
}


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "grafana_generate", DEPLOY / "grafana" / "generate.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dashboards_are_what_generate_py_writes() -> None:
    gen = _generator()
    assert set(gen.DASHBOARDS) == set(UIDS)
    for name, build in gen.DASHBOARDS.items():
        committed = (DASHBOARDS / name).read_text(encoding="utf-8")
        assert committed == gen.render(build), f"{name} is stale: run deploy/grafana/generate.py"


def test_uids_titles_and_datasource() -> None:
    dashboards = load_dashboards()
    assert {name: d["uid"] for name, d in dashboards.items()} == UIDS
    for name, dashboard in dashboards.items():
        ids = [p["id"] for p in panels(dashboard)]
        assert len(ids) == len(set(ids)), name
        for panel in panels(dashboard):
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
            assert (
                panel["gridPos"]["x"] >= 0 and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            )
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "prometheus"
        for variable in dashboard["templating"]["list"]:
            assert variable["datasource"]["uid"] == "prometheus"


def test_the_district_drilldown_has_province_and_district_variables() -> None:
    district = load_dashboards()["paywatch-district.json"]
    assert [v["name"] for v in district["templating"]["list"]] == ["province", "district"]
    assert "$province" in district["templating"]["list"][1]["definition"]


def test_recording_rules_used_by_dashboards_exist() -> None:
    recorded = set()
    for path in RULES.glob("*.yml"):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            recorded |= {r["record"] for r in group["rules"] if "record" in r}
    for name, dashboard in load_dashboards().items():
        for q in panel_queries(name, dashboard):
            for used in re.findall(r"paywatch:[a-z0-9_:]+", q.expr):
                assert used in recorded, f"{q.where()}: {used} is not a recording rule"


def test_provisioning_matches_docker_compose() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    volumes = compose["services"]["grafana"]["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in volumes
    prov = DEPLOY / "grafana" / "provisioning"
    datasources = yaml.safe_load((prov / "datasources" / "prometheus.yml").read_text())
    (ds,) = datasources["datasources"]
    assert ds["uid"] == "prometheus" and ds["type"] == "prometheus"
    assert ds["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((prov / "dashboards" / "paywatch.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
