"""`paywatch --help` reads cleanly and `paywatch --version` answers."""

from __future__ import annotations

import re
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.processes import paywatch

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return paywatch(*args, env={"COLUMNS": "100"})


def test_version() -> None:
    result = _run("--version")
    assert result.returncode == 0 and result.stdout == f"paywatch {version('paywatch')}\n"


@pytest.mark.slow
def test_help_has_no_typer_noise() -> None:
    root = _run("--help")
    assert root.returncode == 0 and "--version" in root.stdout
    commands = [
        line.split()[1]
        for line in root.stdout.split("Commands")[1].splitlines()
        if line.startswith("│ ") and line[2] != " "
    ]
    assert {"replay", "status", "report", "worker", "config"} <= set(commands)
    summaries = re.sub(r"[│\s]+", " ", root.stdout.split("Commands")[1])
    assert "and check the provinces, the targets folder" in summaries  # wrapped lines joined
    for command in ["", *commands]:
        result = _run(*([command] if command else []), "--help")
        assert result.returncode == 0, result.stderr
        assert "<bool>" not in result.stdout and "{" not in result.stdout, (command, result.stdout)
    assert "Usage: paywatch replay [OPTIONS] FILE" in _run("replay", "--help").stdout
    assert "Usage: paywatch report [OPTIONS] PERIOD" in _run("report", "--help").stdout
