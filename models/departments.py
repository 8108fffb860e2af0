"""Provincial departments (sở), from one YAML file per province under ``models/data/departments``.

File format (see ``17.yaml``): ``province`` (the GSO province code, quoted) and a list
``departments`` of entries with ``code``, ``name``, ``valid_from``, ``valid_to`` (inclusive,
null = open) and optionally ``successor`` (the department that took it over). A department's
code is ``"<province>.<LETTERS>"``: it contains a dot and letters, so it never equals a GSO code.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Any, Final

import yaml

from models.registry_rows import Level, ParentLink, RegistryError, Unit

__all__ = ["DEPARTMENT_CODE", "department_rows", "parse_departments"]

DEPARTMENT_CODE: Final = re.compile(r"(?P<province>\d{2})\.[A-Z][A-Z0-9]*")
_KEYS: Final = frozenset({"code", "name", "valid_from", "valid_to", "successor"})
_REQUIRED: Final = ("code", "name", "valid_from")


def _date(value: object, where: str, key: str, optional: bool) -> date | None:
    if value is None and optional:
        return None
    if isinstance(value, date):
        return value
    raise RegistryError(f"{where}: {key} must be a date (YYYY-MM-DD), got {value!r}")


def parse_departments(doc: Any, source: str) -> tuple[list[Unit], list[ParentLink]]:
    """Unit and link rows from one parsed department file; ``source`` names it in errors."""
    if not isinstance(doc, dict) or not isinstance(doc.get("province"), str):
        raise RegistryError(f"{source}: expected a mapping with a quoted 'province' code")
    province: str = doc["province"]
    entries = doc.get("departments")
    if not isinstance(entries, list):
        raise RegistryError(f"{source}: 'departments' must be a list")
    units: list[Unit] = []
    links: list[ParentLink] = []
    successors: list[tuple[str, str, str]] = []
    for index, entry in enumerate(entries):
        where = f"{source}: departments[{index}]"
        if not isinstance(entry, dict):
            raise RegistryError(f"{where}: expected a mapping, got {entry!r}")
        where = f"{where} ({entry.get('code')!r})"
        extra = sorted(set(entry) - _KEYS, key=str)
        missing = [k for k in _REQUIRED if k not in entry]
        if extra or missing:
            raise RegistryError(f"{where}: unknown keys {extra}, missing keys {missing}")
        code, name = entry["code"], entry["name"]
        if not isinstance(code, str) or not (match := DEPARTMENT_CODE.fullmatch(code)):
            raise RegistryError(f"{where}: code must look like '{province}.ABC', got {code!r}")
        if match.group("province") != province:
            raise RegistryError(f"{where}: code {code!r} does not start with '{province}.'")
        if not isinstance(name, str) or not name.strip():
            raise RegistryError(f"{where}: name must be a non-empty string")
        valid_from = _date(entry["valid_from"], where, "valid_from", optional=False)
        assert valid_from is not None
        valid_to = _date(entry.get("valid_to"), where, "valid_to", optional=True)
        units.append(Unit(code, name, Level.DEPARTMENT, "sở", province, valid_from, valid_to))
        links.append(ParentLink(code, province, valid_from, valid_to, source=source))
        if "successor" in entry:
            successors.append((where, code, str(entry["successor"])))
    codes = {u.code for u in units}
    for where, code, successor in successors:
        if successor not in codes or successor == code:
            raise RegistryError(f"{where}: successor {successor!r} is not another department here")
    return units, links


def department_rows(
    provinces: Collection[str] | None = None,
) -> tuple[list[Unit], list[ParentLink]]:
    """Rows from every shipped department file (or those of the given provinces)."""
    folder = Path(__file__).resolve().parent / "data" / "departments"
    units: list[Unit] = []
    links: list[ParentLink] = []
    for item in sorted(folder.iterdir()):
        if not item.name.endswith(".yaml"):
            continue
        if provinces is not None and item.name.removesuffix(".yaml") not in provinces:
            continue
        source = f"models/data/departments/{item.name}"
        try:
            doc = yaml.safe_load(item.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise RegistryError(f"{source}: not valid YAML: {exc}") from None
        more_units, more_links = parse_departments(doc, source)
        if f"{doc['province']}.yaml" != item.name:
            raise RegistryError(f"{source}: 'province' does not match the file name")
        units += more_units
        links += more_links
    return units, links
