"""Vietnam's administrative units from 1 July 2025, from the ``vietnamadminunits`` package.

The 2025 reform abolished the district level and merged provinces: 34 provinces and
3,321 commune-level units (xã, phường, đặc khu), each commune directly under its province.
Province codes that continue (e.g. 25, the new Phú Thọ of Hòa Bình + Vĩnh Phúc + Phú Thọ) and
most commune codes are GSO codes *reused* from the old structure (the new Phường Hòa Bình
carries old Phường Thịnh Lang's 04795), so the rows here are new versions of those codes,
valid from :data:`REFORM_VALID_FROM` (open-ended), and never overlap the pre-reform versions
of :mod:`models.gso` (valid to 2025-06-30).

Source: table ``admin_units`` of ``vietnamadminunits/data/dataset.db`` (SQLite), version
1.0.4 of the package. The file is read with :mod:`sqlite3` through :mod:`importlib.resources`
on an *unexecuted* module object: importing the package itself would run its
``__init__``, which pulls geopy and shapely (~0.6 s) for features we do not use.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.resources
import importlib.util
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.resources.abc import Traversable
from typing import Final

from models.registry_rows import Level, ParentLink, RegistryError, Unit

__all__ = [
    "PACKAGE",
    "PACKAGE_VERSION",
    "REFORM_VALID_FROM",
    "dataset_rows",
    "installed_version",
    "package_file",
    "province_codes",
    "reform_rows",
]

PACKAGE: Final = "vietnamadminunits"
#: The version whose data the tests check (34 provinces, 3,321 communes).
PACKAGE_VERSION: Final = "1.0.4"
REFORM_VALID_FROM: Final = date(2025, 7, 1)
_DATASET: Final = ("data", "dataset.db")
_QUERY: Final = (
    "SELECT provinceCode, province, wardCode, ward, wardType FROM admin_units "
    "ORDER BY provinceCode, wardCode"
)


@dataclass(frozen=True, slots=True)
class DatasetRow:
    """One row of ``admin_units``: a commune and the province it belongs to."""

    province_code: str
    province: str
    ward_code: str
    ward: str
    ward_type: str


def installed_version() -> str | None:
    """The installed version of ``vietnamadminunits`` (None when it is not installed)."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_file(*parts: str) -> Traversable:
    """A data file of ``vietnamadminunits`` (e.g. ``"data", "dataset.db"``), without importing it.

    ``importlib.resources.files(PACKAGE)`` would import the package (running its
    ``__init__``); a module object made from the package's spec but never executed gives the
    same resource reader.
    """
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without running it
    if spec is None or spec.submodule_search_locations is None:
        raise RegistryError(
            f"package {PACKAGE}=={PACKAGE_VERSION} is not installed: it holds the units in "
            f"force from {REFORM_VALID_FROM.isoformat()} (pip install {PACKAGE}=={PACKAGE_VERSION})"
        )
    module = importlib.util.module_from_spec(spec)  # a module object; __init__ is not executed
    return importlib.resources.files(module).joinpath(*parts)


@lru_cache(maxsize=1)
def dataset_rows() -> tuple[DatasetRow, ...]:
    """Every row of the package's ``admin_units`` table, ordered by province and commune code."""
    resource = package_file(*_DATASET)
    with importlib.resources.as_file(resource) as path:
        if not path.is_file():
            raise RegistryError(f"{PACKAGE}: {'/'.join(_DATASET)} not found at {path}")
        uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            try:
                raw = db.execute(_QUERY).fetchall()
            except sqlite3.Error as exc:
                raise RegistryError(f"{PACKAGE}: cannot read {path}: {exc}") from None
    rows = tuple(DatasetRow(*(str(value).strip() for value in row)) for row in raw)
    for row in rows:
        if not (
            len(row.province_code) == 2
            and row.province_code.isdigit()
            and len(row.ward_code) == 5
            and row.ward_code.isdigit()
        ):
            raise RegistryError(f"{PACKAGE}: unexpected codes in admin_units row {row}")
    return rows


def province_codes() -> list[str]:
    """The province codes in force from 1 July 2025, zero-padded, ascending."""
    return sorted({row.province_code for row in dataset_rows()})


def _province_type(name: str) -> str:
    # Same words as vietnam-provinces uses for the pre-reform provinces.
    return "thành phố trung ương" if name.startswith("Thành phố") else "tỉnh"


def reform_rows(
    provinces: Collection[str] | None = None,
) -> tuple[list[Unit], list[ParentLink]]:
    """Unit and link rows in force from 1 July 2025 (None = the whole country).

    A province code not in the post-reform structure (e.g. "17", retired) yields nothing.
    Every commune's parent is its province, from :data:`REFORM_VALID_FROM`, open-ended.
    """
    source = f"{PACKAGE} {installed_version() or '?'}"
    units: list[Unit] = []
    links: list[ParentLink] = []
    seen: dict[str, str] = {}
    start = REFORM_VALID_FROM
    for row in dataset_rows():
        pcode = row.province_code
        if provinces is not None and pcode not in provinces:
            continue
        if pcode not in seen:
            seen[pcode] = row.province
            units.append(
                Unit(
                    pcode,
                    row.province,
                    Level.PROVINCE,
                    _province_type(row.province),
                    pcode,
                    start,
                    None,
                )
            )
        elif seen[pcode] != row.province:
            raise RegistryError(
                f"{PACKAGE}: province {pcode} named both {seen[pcode]!r} and {row.province!r}"
            )
        units.append(
            Unit(row.ward_code, row.ward, Level.COMMUNE, row.ward_type.lower(), pcode, start, None)
        )
        links.append(ParentLink(row.ward_code, pcode, start, None, source=source))
    return units, links
