"""The department files (models/departments.py): parsed into units and links, every bad entry
refused with a message naming the file, the entry and the key."""

from __future__ import annotations

import pytest
import yaml

from models.departments import parse_departments
from models.registry import Level, Registry, RegistryError

DEPARTMENTS = """
province: "17"
departments:
  - {code: "17.SYT", name: "Sở Y tế", valid_from: 2020-01-01, valid_to: null}
"""


def test_department_file_parses() -> None:
    units, links = parse_departments(yaml.safe_load(DEPARTMENTS), "17.yaml")
    assert units[0].code == "17.SYT" and units[0].level is Level.DEPARTMENT
    assert links[0].parent == "17"


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ('{code: "SYT", name: "x", valid_from: 2020-01-01}', "code must look like"),
        ('{code: "18.SYT", name: "x", valid_from: 2020-01-01}', "does not start with '17.'"),
        ('{code: "17.SYT", name: "", valid_from: 2020-01-01}', "name"),
        ('{code: "17.SYT", name: "x", valid_from: "soon"}', "valid_from must be a date"),
        ('{code: "17.SYT", name: "x"}', "missing keys ['valid_from']"),
        ('{code: "17.SYT", name: "x", valid_from: 2020-01-01, boss: y}', "unknown keys ['boss']"),
        ('{code: "17.SYT", name: "x", valid_from: 2020-01-01, successor: "17.X"}', "successor"),
        ('{code: 17, name: "x", valid_from: 2020-01-01}', "code must look like"),
    ],
)
def test_department_file_errors(entry: str, needle: str) -> None:
    doc = yaml.safe_load(f'province: "17"\ndepartments:\n  - {entry}\n')
    with pytest.raises(RegistryError) as info:
        parse_departments(doc, "17.yaml")
    assert "17.yaml: departments[0]" in str(info.value)
    assert needle in str(info.value)


def test_department_code_never_looks_like_gso(hoa_binh: Registry) -> None:
    for dept in hoa_binh.units(Level.DEPARTMENT):
        assert not dept.code.isdigit()
        assert dept.code.startswith("17.")
