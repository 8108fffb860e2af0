"""Targets after the 2025 reform: 2026 units, communes set by their province (no district),
the reform year 2025 with reused codes, and a registry loaded for some provinces only."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from models.registry import Level, Registry
from models.targets import TargetError, Targets, parse_targets

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "targets"
THIRTY = Fraction(3, 10)


def write(tmp_path: Path, text: str, name: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_deploy_2026_example(phu_tho: Registry, vietnam: Registry, hoa_binh: Registry) -> None:
    text = (DEPLOY / "2026.yaml").read_text(encoding="utf-8")
    assert "EXAMPLE" in text and "replace" in text.lower()
    for registry in (phu_tho, vietnam):
        targets = Targets.load(DEPLOY, registry)
        assert targets.years() == [2022, 2023, 2024, 2025, 2026]
        assert targets.explicit(2026) == {"25": THIRTY}
        assert targets.target("25", 2026) == THIRTY
        for unit in registry.units(Level.COMMUNE, province="25", on=date(2026, 1, 1)):
            assert targets.target(unit.code, 2026) == THIRTY
        assert targets.target("01", 2026) is None
    # A worker of Hòa Bình alone still starts: the 2026 section of province 25 is skipped.
    targets = Targets.load(DEPLOY, hoa_binh)
    assert targets.explicit(2026) == {}
    assert targets.target("04789", 2022) == Fraction(2, 5)


COMMUNES_2026 = """
year: 2026
provinces:
  "25":
    default: 30
    communes:
      "25": {"04795": 35, "04792": 0}
"""


def test_commune_set_by_its_province(tmp_path: Path, phu_tho: Registry) -> None:
    targets = Targets.load(write(tmp_path, COMMUNES_2026, "2026.yaml"), phu_tho)
    assert targets.target("04795", 2026) == Fraction(35, 100)
    assert targets.target("04792", 2026) == 0
    assert targets.target("04828", 2026) == THIRTY  # Phường Thống Nhất inherits from 25
    assert targets.target("04795", 2026, on=date(2026, 6, 1)) == Fraction(35, 100)
    assert targets.explicit(2026) == {"25": THIRTY, "04795": Fraction(35, 100), "04792": 0}


@pytest.mark.parametrize(
    ("body", "needles"),
    [
        ('communes: {"148": {"04795": 30}}', ["communes.'148'", "unknown unit '148' in 2026"]),
        ('districts: {"227": 30}', ["districts.'227'", "unknown unit '227' in 2026"]),
        ('communes: {"25": {"00004": 30}}', ["'00004'", "belongs to '01'", "province '25'"]),
        ('communes: {"25": {"04789": 30}}', ["'04789'", "unknown unit '04789' in 2026"]),
        ('communes: {"25": {"25": 30}}', ["'25'", "is a province, not a commune"]),
        ('departments: {"17.SYT": 30}', ["'17.SYT'", "unknown unit"]),
    ],
)
def test_errors_after_the_reform(
    tmp_path: Path, vietnam: Registry, body: str, needles: list[str]
) -> None:
    text = f'year: 2026\nprovinces:\n  "25": {{{body}}}\n'
    with pytest.raises(TargetError) as info:
        Targets.load(write(tmp_path, text, "2026.yaml"), vietnam)
    message = str(info.value)
    assert "2026.yaml" in message
    for needle in needles:
        assert needle in message, message


def test_retired_province_code_after_the_reform(tmp_path: Path, phu_tho: Registry) -> None:
    # 17 is a real province until 2025-06-30, not in 2026, even outside the registry's scope.
    text = 'year: 2026\nprovinces:\n  "17": {default: 30}\n'
    with pytest.raises(TargetError, match="unknown unit '17' in 2026"):
        Targets.load(write(tmp_path, text, "2026.yaml"), phu_tho)
    text = 'year: 2025\nprovinces:\n  "17": {default: 30}\n  "25": {default: 20}\n'
    (tmp_path / "2026.yaml").unlink()
    targets = Targets.load(write(tmp_path, text, "2025.yaml"), phu_tho)
    assert targets.explicit(2025) == {"25": Fraction(1, 5)}


REFORM_YEAR = """
year: 2025
provinces:
  "17":
    default: 30
    communes:
      "148": {"04795": 40}
  "25":
    default: 20
    communes:
      "25": {"04795": 50}
"""


def test_reform_year_reused_code(tmp_path: Path, vietnam: Registry) -> None:
    """04795 is Phường Thịnh Lang (district 148, Hòa Bình) to 30 June 2025, then Phường
    Hòa Bình (province 25): each version has its own target in 2025."""
    targets = Targets.load(write(tmp_path, REFORM_YEAR, "2025.yaml"), vietnam)
    before, after = date(2025, 6, 30), date(2025, 7, 1)
    assert targets.target("04795", 2025, on=before) == Fraction(2, 5)
    assert targets.target("04795", 2025, on=after) == Fraction(1, 2)
    assert targets.target("04795", 2025) == Fraction(1, 2)  # default day: its last in 2025
    assert targets.target("04789", 2025) == THIRTY  # Hòa Bình's, until 2025-06-30
    assert targets.target("04792", 2025, on=before) == THIRTY  # Tân Hòa under 148, 17
    assert targets.target("04792", 2025, on=after) == Fraction(1, 5)  # Tân Hòa under 25
    # The province default covers both versions of code 25 in 2025.
    assert targets.target("25", 2025, on=before) == Fraction(1, 5)
    assert targets.target("25", 2025, on=after) == Fraction(1, 5)
    assert targets.target("227", 2025) == Fraction(1, 5)  # an old Phú Thọ district
    assert targets.explicit(2025)["04795"] == Fraction(1, 2)
    _year, explicit = parse_targets(
        {"year": 2025, "provinces": {"17": {"communes": {"148": {"04795": 40}}}}}, "x", vietnam
    )
    assert explicit == {"04795": Fraction(2, 5)}


def test_reform_year_wrong_setter(tmp_path: Path, vietnam: Registry) -> None:
    # Under district 148 the old version is meant; under 25 the new one. 04789 was never in 25.
    text = 'year: 2025\nprovinces:\n  "25":\n    communes:\n      "25": {"04789": 30}\n'
    with pytest.raises(TargetError, match="belongs to '148', not to province '25'"):
        Targets.load(write(tmp_path, text, "2025.yaml"), vietnam)


def test_commune_versions_and_setters(tmp_path: Path, vietnam: Registry) -> None:
    text = (
        'year: 2025\nprovinces:\n  "25":\n    default: 20\n'
        '    communes:\n      "25": {"04795": 50}\n'
        '  "17":\n    communes:\n      "148": {"04795": 40}\n'
    )
    Targets.load(write(tmp_path, text, "2025.yaml"), vietnam)  # two versions: fine
    text = (
        'year: 2025\nprovinces:\n  "17":\n    districts: {"148": 30}\n'
        '    communes:\n      "148": {"04795": 40}\n      "17": {"04795": 41}\n'
    )
    with pytest.raises(TargetError, match="belongs to '148', not to province '17'"):
        Targets.load(write(tmp_path, text, "2025.yaml"), vietnam)
