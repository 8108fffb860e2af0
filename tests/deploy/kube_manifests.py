"""The manifests of deploy/kubernetes/ as the tests read them: the kustomization's resources,
one object by kind and name, a workload's container and the settings it gets."""

from __future__ import annotations

from typing import Any

import yaml

from tests.deploy.deploy_stack import DEPLOY

KUBE = DEPLOY / "kubernetes"
Doc = dict[str, Any]


def kustomization() -> Doc:
    doc: Doc = yaml.safe_load((KUBE / "kustomization.yaml").read_text(encoding="utf-8"))
    return doc


def manifests() -> list[Doc]:
    docs: list[Doc] = []
    for name in kustomization()["resources"]:
        docs.extend(d for d in yaml.safe_load_all((KUBE / name).read_text(encoding="utf-8")) if d)
    return docs


def one(kind: str, name: str) -> Doc:
    [doc] = [d for d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def config(name: str) -> dict[str, str]:
    data: dict[str, str] = one("ConfigMap", name)["data"]
    return data


def container(workload: Doc) -> Doc:
    containers: list[Doc] = workload["spec"]["template"]["spec"]["containers"]
    [only] = containers
    return only


def settings_of(container: Doc) -> dict[str, str]:
    """The PAYWATCH_* variables a container gets from its ConfigMaps and literal values."""
    out: dict[str, str] = {}
    for source in container.get("envFrom", []):
        out.update(config(source["configMapRef"]["name"]))
    for var in container.get("env", []):
        if "value" in var:
            out[var["name"]] = var["value"]
    return {k: v for k, v in out.items() if k.startswith("PAYWATCH_")}


def worker() -> Doc:
    return one("StatefulSet", "paywatch-worker")


def dashboard() -> Doc:
    return one("Deployment", "paywatch-dashboard")
