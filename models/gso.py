"""Vietnam's pre-2025 administrative units, from the ``vietnam-provinces`` package.

Version 0.5.0 of the package (data retrieved 2023-05-07) carries the three-level
structure with GSO codes: 63 provinces, 705 district-level units and 10,598
communes. Codes are ints in the package; here they are GSO's zero-padded strings
(province 2 digits, district 3, commune 5).

The package is a snapshot, so one validity span is applied to all of it:
from :data:`PACKAGE_VALID_FROM` (communes merged before the snapshot date are not
represented) to :data:`PACKAGE_VALID_TO`, the day before districts were abolished.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from functools import lru_cache
from typing import Any, Final

import msgspec
import vietnam_provinces

from models.registry_rows import Level, ParentLink, RegistryError, Unit

__all__ = ["PACKAGE_VALID_FROM", "PACKAGE_VALID_TO", "gso_rows", "province_codes"]

PACKAGE_VALID_FROM: Final = date(2020, 1, 1)
PACKAGE_VALID_TO: Final = date(2025, 6, 30)
_SOURCE: Final = "vietnam-provinces 0.5.0"


class _Ward(msgspec.Struct):
    name: str
    code: int
    division_type: str


class _District(msgspec.Struct):
    name: str
    code: int
    division_type: str
    wards: list[_Ward]


class _Province(msgspec.Struct):
    name: str
    code: int
    division_type: str
    districts: list[_District]


@lru_cache(maxsize=1)
def _package_data() -> tuple[_Province, ...]:
    raw = vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_bytes()
    return tuple(msgspec.json.decode(raw, type=list[_Province]))


def province_codes() -> list[str]:
    """All province codes in the package, zero-padded ("01" .. "96")."""
    return [f"{p.code:02d}" for p in _package_data()]


def gso_rows(provinces: Collection[str] | None = None) -> tuple[list[Unit], list[ParentLink]]:
    """Unit and link rows for the given provinces (None = the whole country)."""
    data = _package_data()
    if provinces is not None:
        known = {f"{p.code:02d}" for p in data}
        unknown = sorted(set(provinces) - known)
        if unknown:
            raise RegistryError(f"unknown province code(s) {unknown}; known: 01..96 as in GSO")
    units: list[Unit] = []
    links: list[ParentLink] = []
    span: dict[str, Any] = {"valid_from": PACKAGE_VALID_FROM, "valid_to": PACKAGE_VALID_TO}
    for province in data:
        pcode = f"{province.code:02d}"
        if provinces is not None and pcode not in provinces:
            continue
        units.append(
            Unit(pcode, province.name, Level.PROVINCE, province.division_type, pcode, **span)
        )
        for district in province.districts:
            dcode = f"{district.code:03d}"
            units.append(
                Unit(dcode, district.name, Level.DISTRICT, district.division_type, pcode, **span)
            )
            links.append(ParentLink(dcode, pcode, source=_SOURCE, **span))
            for ward in district.wards:
                wcode = f"{ward.code:05d}"
                units.append(
                    Unit(wcode, ward.name, Level.COMMUNE, ward.division_type, pcode, **span)
                )
                links.append(ParentLink(wcode, dcode, source=_SOURCE, **span))
    return units, links
