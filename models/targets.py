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

Values are **percentages** from 0 to 100 (integers or decimals such as 32.5); the API
returns them as exact fractions of 1 (30 -> Fraction(3, 10)). Unit codes must be
quoted strings (YAML reads an unquoted 04756 as the octal number 2542). A unit with no
target of its own inherits its nearest ancestor's on the registry's hierarchy; a unit
with no target anywhere up its chain has none (None).

Start-up errors (:class:`TargetError`, naming the file and the entry): malformed YAML,
duplicate keys, unknown keys, a year that does not match the file name, values out of
0..100 or not numbers, codes unknown in that year or of the wrong level, a commune set by
a district that is not its parent, a unit given a target twice.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import yaml

from models.registry import Level, Registry, Unit
from models.units import end_of

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


class _YearCheck:
    """Resolves codes against the registry for one year."""

    def __init__(self, registry: Registry, year: int) -> None:
        self.registry = registry
        self.first = date(year, 1, 1)
        self.last = date(year, 12, 31)

    def unit(self, code: str, where: str, level: Level) -> tuple[Unit, date]:
        """The latest version of ``code`` in force during the year, and a day it is in force."""
        versions = [
            u
            for u in self.registry.versions(code)
            if u.valid_from <= self.last and end_of(u.valid_to) >= self.first
        ]
        if not versions:
            raise TargetError(f"{where}: unknown unit {code!r} in {self.first.year}")
        unit = versions[-1]
        if unit.level is not level:
            raise TargetError(
                f"{where}: {code!r} ({unit.name}) is a {unit.level.value}, not a {level.value}"
            )
        return unit, min(self.last, end_of(unit.valid_to))


def parse_targets(doc: Any, source: str, registry: Registry) -> tuple[int, dict[str, Fraction]]:
    """The year and the explicit targets of one parsed file (``source`` names it in errors)."""
    if not isinstance(doc, dict):
        raise TargetError(f"{source}: expected a mapping with 'year' and 'provinces'")
    extra = sorted(set(doc) - {"year", "provinces"}, key=str)
    if extra:
        raise TargetError(f"{source}: unknown top-level keys {extra}")
    year = doc.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise TargetError(f"{source}: 'year' must be an integer, got {year!r}")
    check = _YearCheck(registry, year)
    targets: dict[str, Fraction] = {}
    where_set: dict[str, str] = {}

    def put(code: str, value: object, where: str) -> None:
        if code in targets:
            raise TargetError(f"{where}: {code!r} already has a target at {where_set[code]}")
        targets[code] = _percent(value, where)
        where_set[code] = where

    for pkey, pbody in _mapping(doc.get("provinces"), f"{source}: provinces").items():
        pwhere = f"{source}: provinces.{pkey!r}"
        province = _code(pkey, pwhere)
        check.unit(province, pwhere, Level.PROVINCE)
        body = _mapping(pbody, pwhere)
        extra = sorted(set(body) - _PROVINCE_KEYS, key=str)
        if extra:
            raise TargetError(f"{pwhere}: unknown keys {extra}; allowed {sorted(_PROVINCE_KEYS)}")
        if "default" in body:
            put(province, body["default"], f"{pwhere}.default")
        for section, level in (("departments", Level.DEPARTMENT), ("districts", Level.DISTRICT)):
            swhere = f"{pwhere}.{section}"
            for key, value in _mapping(body.get(section), swhere).items():
                where = f"{swhere}.{key!r}"
                code = _code(key, where)
                unit, _day = check.unit(code, where, level)
                if unit.province_code != province:
                    raise TargetError(f"{where}: {code!r} is not in province {province!r}")
                put(code, value, where)
        cwhere = f"{pwhere}.communes"
        for dkey, dbody in _mapping(body.get("communes"), cwhere).items():
            dwhere = f"{cwhere}.{dkey!r}"
            district = _code(dkey, dwhere)
            dunit, _day = check.unit(district, dwhere, Level.DISTRICT)
            if dunit.province_code != province:
                raise TargetError(f"{dwhere}: {district!r} is not in province {province!r}")
            for key, value in _mapping(dbody, dwhere).items():
                where = f"{dwhere}.{key!r}"
                code = _code(key, where)
                _unit, day = check.unit(code, where, Level.COMMUNE)
                parent = registry.parent(code, day)
                if parent != district:
                    raise TargetError(
                        f"{where}: commune {code!r} belongs to {parent!r}, not to district "
                        f"{district!r}, which cannot set its target"
                    )
                put(code, value, where)
    return year, targets


class Targets:
    """Targets for every year found in a directory, with inheritance along the registry."""

    def __init__(self, registry: Registry, years: dict[int, dict[str, Fraction]]) -> None:
        self._registry = registry
        self._years = years
        self._cache: dict[tuple[str, int], Fraction | None] = {}

    @classmethod
    def load(cls, directory: Path, registry: Registry) -> Targets:
        """Read every ``<year>.yaml`` in ``directory``; any problem raises :class:`TargetError`."""
        directory = Path(directory)
        if not directory.is_dir():
            raise TargetError(f"{directory}: not a directory")
        years: dict[int, dict[str, Fraction]] = {}
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
            year, targets = parse_targets(doc, str(path), registry)
            if path.stem != str(year):
                raise TargetError(f"{path}: 'year: {year}' does not match the file name")
            years[year] = targets
        return cls(registry, years)

    def years(self) -> list[int]:
        return sorted(self._years)

    def explicit(self, year: int) -> dict[str, Fraction]:
        """The targets written in the file for ``year`` (no inheritance)."""
        return dict(self._years.get(year, {}))

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
            if code in explicit:
                return explicit[code]
        return None
