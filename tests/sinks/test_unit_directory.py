"""The sinks' unit metadata over the 2025 reform, asked day by day (no server)."""

from __future__ import annotations

from datetime import date, timedelta

from models.registry import Unit
from sinks.unit_directory import UnitDirectory, UnitInfo
from tests.models.test_registry import reform_registry


class CountingRegistry:
    """The hand-made reform registry, counting the lookups the directory makes."""

    def __init__(self) -> None:
        self.registry = reform_registry()
        self.lookups = 0

    def resolve(self, code: str, on: date) -> Unit | None:
        self.lookups += 1
        return self.registry.resolve(code, on)

    def parent(self, code: str, on: date) -> str | None:
        return self.registry.parent(code, on)

    def versions(self, code: str) -> tuple[Unit, ...]:
        return self.registry.versions(code)

    def steady_span(self, code: str, on: date) -> tuple[date, date]:
        return self.registry.steady_span(code, on)


def test_every_day_gets_the_unit_in_force_and_each_span_is_looked_up_once() -> None:
    registry = CountingRegistry()
    directory = UnitDirectory(registry)
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(365)]
    names = {directory.info("04795", day).name for day in days if day < date(2025, 7, 1)}
    assert names == {"Phường Thịnh Lang"}
    after = {directory.info("04795", day) for day in days if day >= date(2025, 7, 1)}
    assert after == {UnitInfo("04795", "Phường Hòa Bình", "commune", "commune", "25", "25")}
    for day in days:  # asked again: all from the cache
        directory.info("04795", day)
    assert registry.lookups == 2


def test_a_day_the_code_is_unknown_gets_its_latest_version_once_per_gap() -> None:
    registry = CountingRegistry()
    directory = UnitDirectory(registry)
    for day in (date(2026, 1, 1), date(2027, 5, 5), date(2030, 12, 31)):
        info = directory.info("04789", day)  # abolished on 1 July 2025
        assert (info.name, info.parent, info.province) == ("Phường Thái Bình", "148", "17")
    assert directory.info("99999", date(2022, 1, 1)).level == "unknown"
    assert registry.lookups == 2
