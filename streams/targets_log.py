"""The worker's start-up line on its targets: which years have them, and a warning when this
(Vietnam) year has none."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from models.periods import VN_TZ
from models.targets import Targets

log = logging.getLogger(__name__)


def log_targets(targets: Targets, directory: Path) -> None:
    """Which years have targets; a warning when this (Vietnam) year has none, since every unit
    that counts a payment this year then has no target and cannot be below it."""
    years = targets.years()
    this_year = datetime.now(VN_TZ).year
    log.info("targets for %s from %s", ", ".join(map(str, years)) or "no year", directory)
    if this_year not in years:
        log.warning(
            "no targets for %d (this year) in PAYWATCH_TARGETS_DIR=%s (years there: %s): units "
            "with payments in %d have no target in force; add %d.yaml and restart the worker",
            this_year,
            directory,
            ", ".join(map(str, years)) or "none",
            this_year,
            this_year,
        )
