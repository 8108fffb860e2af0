"""Yearly online-payment targets per unit, from one YAML file per year.

File ``<dir>/<year>.yaml`` (see ``deploy/targets/2022.yaml``)::

    year: 2022
    provinces:
      "17":                       # set by the province People's Committee
        default: 30               # the province's own target, inherited by every unit below
        departments: {"17.SYT": 35}
        districts: {"148": 35}
        communes:                 # set by each district for its own communes
          "148": {"04789": 40}

From 1 July 2025 there are no districts: a province sets its communes' targets itself,
listed under its own code (``communes: {"25": {"04795": 35}}``, see ``2026.yaml``). The
key under ``communes`` is always the commune's parent on the registry: its district
before the reform, its province after it.

Values are **percentages** from 0 to 100 (integers or decimals such as 32.5); the API
returns them as exact fractions of 1 (30 -> Fraction(3, 10)). Unit codes must be
quoted strings (YAML reads an unquoted 04756 as the octal number 2542). A unit with no
target of its own inherits its nearest ancestor's on the registry's hierarchy; a unit
with no target anywhere up its chain has none (None).

Start-up errors (:class:`TargetError`, naming the file and the entry): malformed YAML,
duplicate keys, unknown keys, a year that does not match the file name, values out of
0..100 or not numbers, codes unknown in that year or of the wrong level, a commune set by
a district (or province) that is not its parent, a unit given a target twice.

A registry loaded for some provinces (``Registry.load({"17"})``) checks only their
sections in full; other provinces' sections must name a real province that year and hold
valid values, and are skipped.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import yaml

from models.registry import Level, Registry, Unit, national_provinces
from models.registry_rows import end_of

__all__ = ["TargetError", "Targets", "parse_targets"]

_PROVINCE_KEYS: Final = frozenset({"default", "departments", "districts", "communes"})


class TargetError(ValueError):
    """An invalid targets file; the message names the file and the entry."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects duplicate mapping keys (PyYAML keeps the last silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise TargetError(f"duplicate key {key!r} at line {line} (first at line {seen[key]})")
        seen[key] = line
    return dict(loader.construct_mapping(node, deep=True))


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def _percent(value: object, where: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TargetError(f"{where}: target must be a number of percent 0..100, got {value!r}")
    percent = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    if not 0 <= percent <= 100:
        raise TargetError(f"{where}: target {value!r}% is outside 0..100")
    return percent / 100


def _mapping(value: object, where: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TargetError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _code(key: object, where: str) -> str:
    if not isinstance(key, str):
        raise TargetError(
            f'{where}: unit code {key!r} must be a quoted string, e.g. "{key}" '
            "(YAML reads unquoted codes as numbers)"
        )
    return key


Window = tuple[date, date]


class _YearCheck:
    """Resolves codes against the registry for one year."""

    def __init__(self, registry: Registry, year: int) -> None:
        self.registry = registry
        self.first = date(year, 1, 1)
        self.last = date(year, 12, 31)

    def window(self, unit: Unit) -> Window:
        """The days of the year on which ``unit`` (one version) is in force."""
        return max(self.first, unit.valid_from), min(self.last, end_of(unit.valid_to))

    def versions(
        self, code: str, where: str, level: Level, province: str | None = None
    ) -> list[Unit]:
        """The versions of ``code`` in force during the year, of ``level`` (and ``province``).

        Oldest first; never empty (an error names the latest version that does not fit).
        A code reused by the 2025 reform has two versions in 2025, possibly of different
        provinces: the one that fits the place in the file is the one meant.
        """
        in_year = [
            u
            for u in self.registry.versions(code)
            if u.valid_from <= self.last and end_of(u.valid_to) >= self.first
        ]
        if not in_year:
            raise TargetError(f"{where}: unknown unit {code!r} in {self.first.year}")
        fitting = [
            u
            for u in in_year
            if u.level is level and (province is None or u.province_code == province)
        ]
        if fitting:
            return fitting
        unit = in_year[-1]
        if all(u.level is not level for u in in_year):
            raise TargetError(
                f"{where}: {code!r} ({unit.name}) is a {unit.level.value}, not a {level.value}"
            )
        raise TargetError(f"{where}: {code!r} is not in province {province!r}")


def parse_targets(doc: Any, source: str, registry: Registry) -> tuple[int, dict[str, Fraction]]:
    """The year and the explicit targets of one parsed file (``source`` names it in errors).

    A code with targets for two versions in the year (a code reused by the 2025 reform)
    maps to the latest one here; :class:`Targets` keeps both apart.
    """
    year, entries = _parse(doc, source, registry)
    return year, {code: windows[-1][2] for code, windows in entries.items()}


_Entries = dict[str, list[tuple[date, date, Fraction]]]


def _parse(doc: Any, source: str, registry: Registry) -> tuple[int, _Entries]:
    if not isinstance(doc, dict):
        raise TargetError(f"{source}: expected a mapping with 'year' and 'provinces'")
    extra = sorted(set(doc) - {"year", "provinces"}, key=str)
    if extra:
        raise TargetError(f"{source}: unknown top-level keys {extra}")
    year = doc.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise TargetError(f"{source}: 'year' must be an integer, got {year!r}")
    check = _YearCheck(registry, year)
    entries: _Entries = {}
    where_set: dict[tuple[str, date], str] = {}

    def put(code: str, value: object, where: str, windows: list[Window]) -> None:
        percent = _percent(value, where)
        for first, last in windows:
            key = (code, first)
            if key in where_set:
                raise TargetError(f"{where}: {code!r} already has a target at {where_set[key]}")
            where_set[key] = where
            entries.setdefault(code, []).append((first, last, percent))
            entries[code].sort()

    national: frozenset[str] | None = None
    for pkey, pbody in _mapping(doc.get("provinces"), f"{source}: provinces").items():
        pwhere = f"{source}: provinces.{pkey!r}"
        province = _code(pkey, pwhere)
        body = _mapping(pbody, pwhere)
        extra = sorted(set(body) - _PROVINCE_KEYS, key=str)
        if extra:
            raise TargetError(f"{pwhere}: unknown keys {extra}; allowed {sorted(_PROVINCE_KEYS)}")
        if registry.scope is not None and province not in registry.scope:
            # Another province's section: the registry was loaded without it. Its code must
            # still be a real province that year, and its values percentages.
            if national is None:
                national = national_provinces(check.first, check.last)
            if province not in national:
                raise TargetError(f"{pwhere}: unknown unit {province!r} in {year}")
            _check_values(body, pwhere)
            continue
        versions = check.versions(province, pwhere, Level.PROVINCE)
        if "default" in body:
            put(province, body["default"], f"{pwhere}.default", [check.window(u) for u in versions])
        for section, level in (("departments", Level.DEPARTMENT), ("districts", Level.DISTRICT)):
            swhere = f"{pwhere}.{section}"
            for key, value in _mapping(body.get(section), swhere).items():
                where = f"{swhere}.{key!r}"
                code = _code(key, where)
                unit = check.versions(code, where, level, province)[-1]
                put(code, value, where, [check.window(unit)])
        cwhere = f"{pwhere}.communes"
        for skey, sbody in _mapping(body.get("communes"), cwhere).items():
            swhere = f"{cwhere}.{skey!r}"
            setter = _code(skey, swhere)
            if setter != province:
                check.versions(setter, swhere, Level.DISTRICT, province)
            for key, value in _mapping(sbody, swhere).items():
                where = f"{swhere}.{key!r}"
                code = _code(key, where)
                window = _commune_window(check, code, where, setter, province)
                put(code, value, where, [window])
    return year, entries


def _commune_window(check: _YearCheck, code: str, where: str, setter: str, province: str) -> Window:
    """The days of the year the commune ``code`` has ``setter`` as its parent.

    The setter is the commune's district, or its province when it has no district (from
    1 July 2025). Of a reused code, the version under that setter is the one meant.
    """
    versions = check.versions(code, where, Level.COMMUNE)
    for unit in reversed(versions):
        window = check.window(unit)
        if unit.province_code == province and check.registry.parent(code, window[1]) == setter:
            return window
    # Name the parent of the version in this province, if any, else of the latest one.
    shown = ([u for u in versions if u.province_code == province] or versions)[-1]
    parent = check.registry.parent(code, check.window(shown)[1])
    what = "province" if setter == province else "district"
    raise TargetError(
        f"{where}: commune {code!r} belongs to {parent!r}, not to {what} "
        f"{setter!r}, which cannot set its target"
    )


def _check_values(body: dict[Any, Any], pwhere: str) -> None:
    if "default" in body:
        _percent(body["default"], f"{pwhere}.default")
    for section in ("departments", "districts"):
        swhere = f"{pwhere}.{section}"
        for key, value in _mapping(body.get(section), swhere).items():
            _percent(value, f"{swhere}.{_code(key, swhere)!r}")
    cwhere = f"{pwhere}.communes"
    for skey, sbody in _mapping(body.get("communes"), cwhere).items():
        swhere = f"{cwhere}.{_code(skey, cwhere)!r}"
        for key, value in _mapping(sbody, swhere).items():
            _percent(value, f"{swhere}.{_code(key, swhere)!r}")


class Targets:
    """Targets for every year found in a directory, with inheritance along the registry.

    An explicit target belongs to one version of a unit: it applies to the code only on
    the days of the year that version is in force (a code reused by the 2025 reform names
    two units in 2025, each with its own target or none).
    """

    def __init__(self, registry: Registry, years: dict[int, _Entries]) -> None:
        self._registry = registry
        self._years = {
            year: {code: tuple(windows) for code, windows in entries.items()}
            for year, entries in years.items()
        }
        self._cache: dict[tuple[str, int], Fraction | None] = {}

    @classmethod
    def load(cls, directory: Path, registry: Registry) -> Targets:
        """Read every ``<year>.yaml`` in ``directory``; any problem raises :class:`TargetError`.

        Sections of provinces outside ``registry.scope`` (a registry loaded for some
        provinces) are checked for real province codes and valid values, then skipped:
        one directory serves workers configured for different provinces.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise TargetError(f"{directory}: not a directory")
        years: dict[int, _Entries] = {}
        for path in sorted(directory.iterdir()):
            if path.suffix == ".yml":
                raise TargetError(f"{path}: use the .yaml extension")
            if path.suffix != ".yaml":
                continue
            try:
                doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
            except TargetError as exc:
                raise TargetError(f"{path}: {exc}") from None
            except yaml.YAMLError as exc:
                raise TargetError(f"{path}: not valid YAML: {exc}") from None
            year, entries = _parse(doc, str(path), registry)
            if path.stem != str(year):
                raise TargetError(f"{path}: 'year: {year}' does not match the file name")
            years[year] = entries
        return cls(registry, years)

    def years(self) -> list[int]:
        return sorted(self._years)

    def explicit(self, year: int) -> dict[str, Fraction]:
        """The targets written in the file for ``year`` (no inheritance).

        A code with targets for two versions in the year shows the latest version's.
        """
        return {code: windows[-1][2] for code, windows in self._years.get(year, {}).items()}

    def target(self, unit_code: str, year: int, on: date | None = None) -> Fraction | None:
        """The unit's target for ``year`` as a fraction of 1, inherited when not set.

        The ancestors are those in force on ``on`` (default: the last day of ``year``
        on which the unit is in force). None when no target applies.
        """
        if on is None:
            key = (unit_code, year)
            if key not in self._cache:
                self._cache[key] = self._target(unit_code, year, None)
            return self._cache[key]
        return self._target(unit_code, year, on)

    def _target(self, unit_code: str, year: int, on: date | None) -> Fraction | None:
        explicit = self._years.get(year)
        if not explicit:
            return None
        if on is None:
            first, last = date(year, 1, 1), date(year, 12, 31)
            days = [
                min(last, end_of(u.valid_to))
                for u in self._registry.versions(unit_code)
                if u.valid_from <= last and end_of(u.valid_to) >= first
            ]
            if not days:
                return None
            on = max(days)
        for code in self._registry.chain(unit_code, on):
            for first, last, value in explicit.get(code, ()):
                if first <= on <= last:
                    return value
        return None
