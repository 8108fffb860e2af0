"""The post-reform structure (from 1 July 2025, package vietnamadminunits 1.0.4) next to the
pre-reform one: exact counts, Phú Thọ/Hòa Bình, reused codes, versions split at the reform."""

from __future__ import annotations

import itertools
import json
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date
from importlib.resources import as_file

import pytest

from models import gso, gso2025
from models.departments import department_rows
from models.gso import gso_rows
from models.gso2025 import REFORM_VALID_FROM, reform_rows
from models.registry import Level, Registry, RegistryError, national_provinces

BEFORE, AFTER = date(2025, 6, 30), date(2025, 7, 1)
D2022, D2026 = date(2022, 6, 15), date(2026, 3, 1)

RETIRED = [
    "02", "06", "10", "17", "26", "27", "30", "34", "35", "36", "45", "49", "54", "58", "60",
    "62", "64", "67", "70", "72", "74", "77", "83", "84", "87", "89", "93", "94", "95",
]  # fmt: skip

#: Continuing codes whose province took another name (the merged province kept this code).
RENAMED = {
    "15": ("Tỉnh Yên Bái", "Tỉnh Lào Cai"),
    "24": ("Tỉnh Bắc Giang", "Tỉnh Bắc Ninh"),
    "44": ("Tỉnh Quảng Bình", "Tỉnh Quảng Trị"),
    "46": ("Tỉnh Thừa Thiên Huế", "Thành phố Huế"),
    "52": ("Tỉnh Bình Định", "Tỉnh Gia Lai"),
    "80": ("Tỉnh Long An", "Tỉnh Tây Ninh"),
    "82": ("Tỉnh Tiền Giang", "Tỉnh Đồng Tháp"),
    "91": ("Tỉnh Kiên Giang", "Tỉnh An Giang"),
}


def test_package_version() -> None:
    assert gso2025.installed_version() == gso2025.PACKAGE_VERSION == "1.0.4"


def test_package_modules_are_not_imported(vietnam: Registry) -> None:
    # Its __init__ pulls geopy and shapely: the data file is read without running it.
    assert vietnam.resolve("04795", AFTER) is not None
    assert "vietnamadminunits.parser" not in sys.modules
    assert "vietnamadminunits" not in sys.modules


def test_whole_country_after_the_reform(vietnam: Registry) -> None:
    provinces = vietnam.units(Level.PROVINCE, on=AFTER)
    assert len(provinces) == 34
    assert Counter(u.division_type for u in provinces) == {"tỉnh": 28, "thành phố trung ương": 6}
    communes = vietnam.units(Level.COMMUNE, on=AFTER)
    assert len(communes) == 3_321
    assert Counter(u.division_type for u in communes) == {"xã": 2621, "phường": 687, "đặc khu": 13}
    assert vietnam.units(Level.DISTRICT, on=AFTER) == []
    assert vietnam.units(Level.DEPARTMENT, on=AFTER) == []  # none invented after the reform
    assert vietnam.units(on=D2026) == vietnam.units(on=AFTER)  # open-ended
    assert len(vietnam.units(on=BEFORE)) == 63 + 705 + 10_598 + 10  # 10 Hòa Bình departments
    assert len(vietnam) == 63 + 705 + 10_598 + 16 + 34 + 3_321


def test_package_rows_match(vietnam: Registry) -> None:
    rows = gso2025.dataset_rows()
    assert len(rows) == 3_321
    assert len({r.ward_code for r in rows}) == 3_321
    assert gso2025.province_codes() == sorted(set(gso.province_codes()) - set(RETIRED))
    for row in rows[::50]:
        unit = vietnam.resolve(row.ward_code, AFTER)
        assert (
            unit is not None and unit.name == row.ward and unit.province_code == row.province_code
        )


def test_every_unit_chains_to_its_province_after_the_reform(vietnam: Registry) -> None:
    for unit in vietnam.units(on=AFTER):
        chain = vietnam.chain(unit.code, D2026)
        expected = (unit.code,) if unit.level is Level.PROVINCE else (unit.code, unit.province_code)
        assert chain == expected
        assert len(unit.code) == {Level.PROVINCE: 2, Level.COMMUNE: 5}[unit.level]


def test_retired_provinces_end_on_30_june_2025(vietnam: Registry) -> None:
    assert len(RETIRED) == 63 - 34
    for code in RETIRED:
        (unit,) = vietnam.versions(code)
        assert unit.valid_to == BEFORE
        assert vietnam.chain(code, BEFORE) == (code,)
        assert vietnam.chain(code, AFTER) == ()
    assert national_provinces(AFTER, D2026) == frozenset(gso2025.province_codes())
    assert "17" in national_provinces(date(2025, 1, 1), date(2025, 12, 31))
    assert "17" not in national_provinces(date(2026, 1, 1), date(2026, 12, 31))


def test_continuing_province_codes_are_split(vietnam: Registry) -> None:
    for unit in vietnam.units(Level.PROVINCE, on=AFTER):
        old, new = vietnam.versions(unit.code)
        assert (old.valid_from, old.valid_to) == (gso.PACKAGE_VALID_FROM, BEFORE)
        assert (new.valid_from, new.valid_to) == (REFORM_VALID_FROM, None)
        assert (old.name, new.name) == RENAMED.get(unit.code, (old.name, old.name))


def test_phu_tho_old_and_new(phu_tho: Registry) -> None:
    old, new = phu_tho.versions("25")
    assert old.name == new.name == "Tỉnh Phú Thọ"
    assert (old.valid_to, new.valid_from, new.valid_to) == (BEFORE, AFTER, None)
    assert phu_tho.resolve("25", BEFORE) == old
    assert phu_tho.resolve("25", AFTER) == new
    # Old Phú Thọ: 13 districts (227..240), 225 communes; the new one: 148 communes, no district.
    assert len(phu_tho.units(Level.DISTRICT, province="25", on=BEFORE)) == 13
    assert len(phu_tho.units(Level.COMMUNE, province="25", on=BEFORE)) == 225
    assert phu_tho.units(Level.DISTRICT, on=AFTER) == []
    communes = phu_tho.units(Level.COMMUNE, province="25", on=AFTER)
    assert len(communes) == 148
    assert all(phu_tho.chain(u.code, AFTER) == (u.code, "25") for u in communes)
    assert len(phu_tho.children("25", AFTER)) == 148
    assert len(phu_tho.children("25", BEFORE)) == 13
    assert phu_tho.scope == frozenset({"25"})
    assert phu_tho.provinces() == frozenset({"25"})


def test_phu_tho_took_in_hoa_binh(vietnam: Registry, phu_tho: Registry) -> None:
    # The new Phường Hòa Bình (province 25) carries old Phường Thịnh Lang's code 04795.
    assert vietnam.chain("04795", BEFORE) == ("04795", "148", "17")
    assert vietnam.chain("04795", AFTER) == ("04795", "25")
    assert vietnam.name("04795", BEFORE) == "Phường Thịnh Lang"
    assert vietnam.name("04795", AFTER) == "Phường Hòa Bình"
    assert [(u.name, u.province_code) for u in vietnam.versions("04795")] == [
        ("Phường Thịnh Lang", "17"),
        ("Phường Hòa Bình", "25"),
    ]
    # A unit belongs to the province of its version.
    assert [u.name for u in phu_tho.versions("04795")] == ["Phường Hòa Bình"]
    assert phu_tho.chain("04795", BEFORE) == ()
    assert vietnam.units(province="25") == phu_tho.units()


def test_hoa_binh_mapping_of_converter(phu_tho: Registry) -> None:
    """converter_2025.json: Hòa Bình's 151 communes became 46 units of the new Phú Thọ,
    3 old communes split between two new ones."""
    doc = json.loads(gso2025.package_file("data", "converter_2025.json").read_text("utf-8"))
    assert doc["DICT_PROVINCE"]["tinhphutho"] == ["tinhhoabinh", "tinhphutho", "tinhvinhphuc"]
    whole = {
        new: [k for k in olds if k.startswith("tinhhoabinh_")]
        for new, olds in doc["DICT_PROVINCE_WARD_NO_DIVIDED"]["tinhphutho"].items()
    }
    whole = {new: olds for new, olds in whole.items() if olds}
    split = {
        old: [w["newWardKey"] for w in news]
        for old, news in doc["DICT_PROVINCE_WARD_DIVIDED"]["tinhphutho"].items()
        if old.startswith("tinhhoabinh_")
    }
    assert len(split) == 3
    assert all(len(news) == 2 for news in split.values())
    assert sum(len(olds) for olds in whole.values()) + len(split) == 151
    new_keys = set(whole) | {key for news in split.values() for key in news}
    assert len(new_keys) == 46
    code_of = dict(_query("SELECT wardKey, wardCode FROM admin_units WHERE provinceCode = '25'"))
    new_codes = {code_of[key] for key in new_keys}
    assert "04795" in new_codes
    for code in new_codes:
        assert phu_tho.chain(code, AFTER) == (code, "25")


def _query(sql: str) -> list[tuple[str, str]]:
    with as_file(gso2025.package_file("data", "dataset.db")) as path:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return [(str(a), str(b)) for a, b in db.execute(sql).fetchall()]
        finally:
            db.close()


def test_hoa_binh_alone_is_unchanged(hoa_binh: Registry) -> None:
    """Province 17 was retired: loading it gives exactly the 2022 structure, nothing after."""
    assert len(hoa_binh) == 1 + 10 + 151 + 16
    assert all(u.valid_to is not None and u.valid_to <= BEFORE for u in hoa_binh.units())
    assert hoa_binh.units(on=AFTER) == []
    assert hoa_binh.chain("04795", AFTER) == ()
    assert reform_rows({"17"}) == ([], [])
    units, links = gso_rows({"17"})
    dept_units, dept_links = department_rows({"17"})
    assert hoa_binh.units() == Registry.from_rows(units + dept_units, links + dept_links).units()


def test_load_both_provinces(vietnam: Registry) -> None:
    both = Registry.load({"17", "25"})
    assert both.units() == vietnam.units(province="17") + vietnam.units(province="25")
    assert both.chain("04795", BEFORE) == ("04795", "148", "17")
    assert both.chain("04795", AFTER) == ("04795", "25")


def test_versions_never_overlap(vietnam: Registry) -> None:
    reused = 0
    for unit in vietnam.units(on=AFTER):
        versions = vietnam.versions(unit.code)
        for older, newer in itertools.pairwise(versions):
            assert older.valid_to is not None and older.valid_to < newer.valid_from
        reused += len(versions) > 1
    assert reused == 34 + 3_315  # every continuing province; all communes but 6 new codes


def test_overlap_at_the_reform_is_rejected() -> None:
    units, links = gso_rows({"25"})
    new_units, new_links = reform_rows({"25"})
    early = [replace(u, valid_from=BEFORE) if u.code == "25" else u for u in new_units]
    with pytest.raises(RegistryError) as info:
        Registry.from_rows(units + early, links + new_links)
    assert "duplicate code 25 with overlapping validity" in str(info.value)


def test_chain_is_fast_after_the_reform(vietnam: Registry) -> None:
    codes = [u.code for u in vietnam.units(Level.COMMUNE, on=AFTER)][:2000]
    assert all(len(vietnam.versions(c)) == 2 for c in codes[:100])  # reused codes
    start_s = time.perf_counter()
    for _ in range(50):
        for code in codes:
            vietnam.chain(code, D2026)
    per_call = (time.perf_counter() - start_s) / (50 * len(codes))
    assert per_call < 5e-6


def test_load_time() -> None:
    start_s = time.perf_counter()
    Registry.load()
    assert time.perf_counter() - start_s < 5.0  # about 0.2 s; generous for slow CI machines
