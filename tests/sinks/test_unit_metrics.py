"""A unit with payments but no target in force is loud: `paywatch_units_without_target` per
province and year, and one warning in the log per province and year (codes only)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from models.registry import Registry
from models.targets import Targets
from sinks.unit_directory import UnitDirectory
from sinks.unit_metrics import UnitCollector
from tests.sinks.helpers import c

ONLY_2022 = 'year: 2022\nprovinces:\n  "17":\n    default: 30\n'


def _values(collector: UnitCollector) -> dict[tuple[str, str], float]:
    text = b"".join(collector.prepare()()).decode()
    return {
        (s.labels["province"], s.labels["year"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "paywatch_units_without_target"
        for s in family.samples
    }


def test_units_with_payments_in_a_year_without_targets_are_counted_and_logged(
    tmp_path: Path, hoa_binh: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "2022.yaml").write_text(ONLY_2022, encoding="utf-8")
    directory = UnitDirectory(hoa_binh, Targets.load(tmp_path, hoa_binh))
    rows = [
        ("04789", "2023", c(3, 1)),
        ("148", "2023", c(3, 1)),
        ("17", "2023", c(3, 1)),
        ("04795", "2023", c(0, 0)),  # a row with nothing counted: no payments, not counted
        ("04798", "2022", c(5, 2)),  # last year's payments: not this year's problem
    ]
    now = [datetime(2023, 1, 5, 3, 0, tzinfo=UTC)]
    collector = UnitCollector(lambda: rows, directory, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="sinks.unit_metrics"):
        assert _values(collector) == {("17", "2023"): 3}
        assert _values(collector) == {("17", "2023"): 3}
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        "3 units of province 17 have payments in 2023 but no target in force (e.g. 04789, 148, "
        "17): add 2023.yaml to PAYWATCH_TARGETS_DIR (or the units' entries) and restart the "
        "worker"
    ]
    # In 2022 they all have one: 0, and nothing more in the log.
    caplog.clear()
    now[0] = datetime(2022, 6, 1, 3, 0, tzinfo=UTC)
    rows[-1] = ("04798", "2022", c(5, 2))
    with caplog.at_level(logging.WARNING, logger="sinks.unit_metrics"):
        assert _values(collector) == {("17", "2022"): 0}
    assert caplog.records == []


def test_the_shipped_targets_leave_no_unit_of_the_simulated_years_without_one(
    directory: UnitDirectory,
) -> None:
    for year, day in ((2022, "2022-10-01"), (2023, "2023-02-28")):
        rows = [(code, str(year), c(2, 1)) for code in ("17", "148", "04789", "17.SYT", "159")]
        now = datetime.fromisoformat(day + "T03:00:00+00:00")
        collector = UnitCollector(partial(list, rows), directory, clock=partial(max, now, now))
        assert _values(collector) == {("17", str(year)): 0}
