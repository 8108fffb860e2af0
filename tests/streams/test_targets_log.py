"""A worker says at start-up which years have targets, and warns when this year has none
(no broker: the function the worker calls while it sets up its sinks)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest

from models.periods import VN_TZ
from models.registry import Registry
from models.targets import Targets
from streams.targets_log import log_targets


def test_a_missing_current_year_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry.load({"17", "25"})
    (tmp_path / "2022.yaml").write_text('year: 2022\nprovinces:\n  "17": {default: 30}\n')
    this_year = datetime.now(VN_TZ).year
    with caplog.at_level(logging.INFO, logger="streams.targets_log"):
        log_targets(Targets.load(tmp_path, registry), tmp_path)
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages == [
        ("INFO", f"targets for 2022 from {tmp_path}"),
        (
            "WARNING",
            f"no targets for {this_year} (this year) in PAYWATCH_TARGETS_DIR={tmp_path} (years "
            f"there: 2022): units with payments in {this_year} have no target in force; add "
            f"{this_year}.yaml and restart the worker",
        ),
    ]
    caplog.clear()
    (tmp_path / f"{this_year}.yaml").write_text(
        f'year: {this_year}\nprovinces:\n  "25": {{default: 30}}\n'
    )
    with caplog.at_level(logging.INFO, logger="streams.targets_log"):
        log_targets(Targets.load(tmp_path, registry), tmp_path)
    assert [r.levelname for r in caplog.records] == ["INFO"]
