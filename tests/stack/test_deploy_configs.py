"""The operational configs under deploy/ pass the real tools' own checks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_prometheus_config(tmp_path: Path) -> None:
    # Lay the config out the way deploy/local/prometheus.sh does, so target files exist.
    shutil.copy(DEPLOY / "prometheus" / "prometheus.yml", tmp_path / "prometheus.yml")
    (tmp_path / "rules").symlink_to(DEPLOY / "prometheus" / "rules")
    shutil.copytree(DEPLOY / "prometheus" / "targets-compose", tmp_path / "targets")
    result = _run("promtool", "check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_promtool_accepts_every_rule_file() -> None:
    rule_files = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
    assert rule_files
    result = _run("promtool", "check", "rules", *map(str, rule_files))
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_accepts_alertmanager_config() -> None:
    result = _run("amtool", "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_config(tmp_path: Path) -> None:
    # The check above can fail: a config with a bad scrape interval is refused.
    bad = tmp_path / "prometheus.yml"
    bad.write_text("global:\n  scrape_interval: fifteen\n")
    assert _run("promtool", "check", "config", str(bad)).returncode != 0
