"""The registry on the real package data: exact counts, chains, dates, departments."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest

from models.gso import PACKAGE_VALID_FROM, PACKAGE_VALID_TO
from models.registry import Level, ParentLink, Registry, RegistryError, Unit

D2022 = date(2022, 6, 15)

HOA_BINH_DISTRICTS = {
    "148": "Thành phố Hòa Bình",
    "150": "Huyện Đà Bắc",
    "152": "Huyện Lương Sơn",
    "153": "Huyện Kim Bôi",
    "154": "Huyện Cao Phong",
    "155": "Huyện Tân Lạc",
    "156": "Huyện Mai Châu",
    "157": "Huyện Lạc Sơn",
    "158": "Huyện Yên Thủy",
    "159": "Huyện Lạc Thủy",
}

HOA_BINH_DEPARTMENTS_2022 = {
    "17.SNV": "Sở Nội vụ",
    "17.SLDTBXH": "Sở Lao động - Thương binh và Xã hội",
    "17.SKHDT": "Sở Kế hoạch và Đầu tư",
    "17.STC": "Sở Tài chính",
    "17.SKHCN": "Sở Khoa học và Công nghệ",
    "17.STTTT": "Sở Thông tin và Truyền thông",
    "17.SXD": "Sở Xây dựng",
    "17.SGTVT": "Sở Giao thông vận tải",
    "17.SNNPTNT": "Sở Nông nghiệp và Phát triển nông thôn",
    "17.STNMT": "Sở Tài nguyên và Môi trường",
    "17.SGDDT": "Sở Giáo dục và Đào tạo",
    "17.SYT": "Sở Y tế",
    "17.SVHTTDL": "Sở Văn hóa, Thể thao và Du lịch",
    "17.STP": "Sở Tư pháp",
    "17.SCT": "Sở Công Thương",
}


def test_whole_country_counts(vietnam: Registry) -> None:
    assert len(vietnam.units(Level.PROVINCE, on=D2022)) == 63
    assert len(vietnam.units(Level.DISTRICT, on=D2022)) == 705
    assert len(vietnam.units(Level.COMMUNE, on=D2022)) == 10_598
    assert len(vietnam.units(Level.DEPARTMENT, on=D2022)) == 15  # only Hòa Bình's so far


def test_whole_country_division_types(vietnam: Registry) -> None:
    communes = Counter(u.division_type for u in vietnam.units(Level.COMMUNE, on=D2022))
    assert communes == {"xã": 8207, "phường": 1771, "thị trấn": 620}
    districts = Counter(u.division_type for u in vietnam.units(Level.DISTRICT))
    assert districts == {"huyện": 524, "thành phố": 83, "thị xã": 52, "quận": 46}
    provinces = Counter(u.division_type for u in vietnam.units(Level.PROVINCE, on=D2022))
    assert provinces == {"tỉnh": 58, "thành phố trung ương": 5}


def test_codes_are_zero_padded(vietnam: Registry) -> None:
    widths = {Level.PROVINCE: 2, Level.DISTRICT: 3, Level.COMMUNE: 5}
    for unit in vietnam.units():
        if unit.level in widths:
            assert unit.code.isdigit() and len(unit.code) == widths[unit.level], unit
    assert vietnam.resolve("01", D2022) is not None
    assert vietnam.resolve("1", D2022) is None


def test_every_unit_chains_to_its_province(vietnam: Registry) -> None:
    depth = {Level.PROVINCE: 1, Level.DISTRICT: 2, Level.COMMUNE: 3, Level.DEPARTMENT: 2}
    for unit in vietnam.units(on=D2022):
        chain = vietnam.chain(unit.code, D2022)
        assert chain[0] == unit.code
        assert chain[-1] == unit.province_code
        assert len(chain) == depth[unit.level]


def test_hanoi_chain(vietnam: Registry) -> None:
    assert vietnam.chain("00001", D2022) == ("00001", "001", "01")
    unit = vietnam.resolve("00001", D2022)
    assert unit is not None and unit.name == "Phường Phúc Xá"
    assert vietnam.parent("001", D2022) == "01"
    assert vietnam.parent("01", D2022) is None


def test_hoa_binh_counts(hoa_binh: Registry) -> None:
    province = hoa_binh.resolve("17", D2022)
    assert province is not None
    assert province.name == "Tỉnh Hòa Bình"
    assert province.level is Level.PROVINCE
    districts = hoa_binh.units(Level.DISTRICT, province="17", on=D2022)
    assert {u.code: u.name for u in districts} == HOA_BINH_DISTRICTS
    communes = hoa_binh.units(Level.COMMUNE, province="17", on=D2022)
    assert len(communes) == 151
    assert Counter(u.division_type for u in communes) == {"xã": 129, "phường": 12, "thị trấn": 10}
    per_district = Counter(hoa_binh.parent(u.code, D2022) for u in communes)
    assert per_district == {
        "148": 19, "150": 17, "152": 11, "153": 17, "154": 10,
        "155": 16, "156": 16, "157": 24, "158": 11, "159": 10,
    }  # fmt: skip
    assert len(hoa_binh.units(on=D2022)) == 1 + 10 + 151 + 15


def test_hoa_binh_same_in_whole_country(hoa_binh: Registry, vietnam: Registry) -> None:
    assert hoa_binh.units(province="17") == vietnam.units(province="17")


def test_hoa_binh_commune_chain(hoa_binh: Registry) -> None:
    assert hoa_binh.chain("04789", D2022) == ("04789", "148", "17")
    assert hoa_binh.name("04789", D2022) == "Phường Thái Bình"
    assert hoa_binh.chain("148", D2022) == ("148", "17")
    assert hoa_binh.chain("17", D2022) == ("17",)
    assert hoa_binh.children("148", D2022)[:3] == ["04789", "04792", "04795"]
    assert len(hoa_binh.children("17", D2022)) == 10 + 15


def test_one_province_excludes_others(hoa_binh: Registry) -> None:
    assert hoa_binh.chain("00001", D2022) == ()
    assert hoa_binh.units(province="01") == []


def test_departments_2022(hoa_binh: Registry) -> None:
    departments = hoa_binh.units(Level.DEPARTMENT, province="17", on=D2022)
    assert {u.code: u.name for u in departments} == HOA_BINH_DEPARTMENTS_2022
    for unit in departments:
        assert hoa_binh.chain(unit.code, D2022) == (unit.code, "17")
        assert not unit.code.isdigit()


MERGED_AWAY = ["17.SLDTBXH", "17.SKHDT", "17.STTTT", "17.SGTVT", "17.SNNPTNT", "17.STNMT"]


def test_department_mergers_of_1_march_2025(hoa_binh: Registry) -> None:
    before, after = date(2025, 2, 28), date(2025, 3, 1)
    for code in MERGED_AWAY:
        assert hoa_binh.chain(code, before) == (code, "17")
        assert hoa_binh.chain(code, after) == ()
    assert hoa_binh.chain("17.SNNMT", before) == ()
    assert hoa_binh.chain("17.SNNMT", after) == ("17.SNNMT", "17")
    for code in ["17.SNV", "17.STC", "17.SKHCN", "17.SXD"]:
        assert hoa_binh.chain(code, after) == (code, "17")
    assert len(hoa_binh.units(Level.DEPARTMENT, on=after)) == 15 - 6 + 1


def test_package_validity_window(hoa_binh: Registry) -> None:
    first, last = PACKAGE_VALID_FROM, PACKAGE_VALID_TO
    assert last == date(2025, 6, 30)
    for code in ["17", "148", "04789", "17.SYT"]:
        assert hoa_binh.chain(code, first) != ()
        assert hoa_binh.chain(code, last) != ()
        assert hoa_binh.chain(code, date(2025, 7, 1)) == ()
        assert hoa_binh.chain(code, date(2019, 12, 31)) == ()
        unit = hoa_binh.resolve(code, last)
        assert unit is not None and unit.valid_to == last


def test_unknown_province_is_an_error() -> None:
    with pytest.raises(RegistryError, match="99"):
        Registry.load({"99"})


def test_province_code_padding_on_load() -> None:
    assert Registry.load({"1"}).chain("00001", D2022) == ("00001", "001", "01")


def test_chain_is_fast(vietnam: Registry) -> None:
    codes = [u.code for u in vietnam.units(Level.COMMUNE)][:2000]
    start_s = time.perf_counter()
    for _ in range(50):
        for code in codes:
            vietnam.chain(code, D2022)
    per_call = (time.perf_counter() - start_s) / (50 * len(codes))
    assert per_call < 5e-6  # a dict look-up and a date comparison


def _v(code: str, name: str, level: Level, province: str, start: date, stop: date | None) -> Unit:
    return Unit(code, name, level, level.value, province, start, stop)


def reform_registry() -> Registry:
    """A hand-made 2025 reform: the old district is abolished and a commune code reused."""
    old_end, new_start = date(2025, 6, 30), date(2025, 7, 1)
    d0 = date(2020, 1, 1)
    units = [
        _v("17", "Tỉnh Hòa Bình", Level.PROVINCE, "17", d0, old_end),
        _v("25", "Tỉnh Phú Thọ (old)", Level.PROVINCE, "25", d0, old_end),
        _v("25", "Tỉnh Phú Thọ", Level.PROVINCE, "25", new_start, None),
        _v("148", "Thành phố Hòa Bình", Level.DISTRICT, "17", d0, old_end),
        _v("04795", "Phường Thịnh Lang", Level.COMMUNE, "17", d0, old_end),
        _v("04795", "Phường Hòa Bình", Level.COMMUNE, "25", new_start, None),
        _v("04789", "Phường Thái Bình", Level.COMMUNE, "17", d0, old_end),
    ]
    links = [
        ParentLink("148", "17", d0, old_end),
        ParentLink("04795", "148", d0, old_end),
        ParentLink("04795", "25", new_start, None),
        ParentLink("04789", "148", d0, old_end),
    ]
    return Registry.from_rows(units, links)


def test_reused_code_resolves_per_date() -> None:
    registry = reform_registry()
    before, after = date(2025, 6, 30), date(2025, 7, 1)
    assert registry.chain("04795", before) == ("04795", "148", "17")
    assert registry.chain("04795", after) == ("04795", "25")
    old, new = registry.resolve("04795", before), registry.resolve("04795", after)
    assert old is not None and old.name == "Phường Thịnh Lang"
    assert new is not None and new.name == "Phường Hòa Bình"
    assert registry.chain("04789", after) == ()
    assert registry.chain("148", after) == ()
    assert registry.parent("04795", date(2030, 1, 1)) == "25"
    assert [u.name for u in registry.versions("04795")] == ["Phường Thịnh Lang", "Phường Hòa Bình"]
    assert [u.code for u in registry.units(Level.COMMUNE, on=after)] == ["04795"]
    assert len(registry.units(Level.PROVINCE)) == 3


def test_parent_change_mid_validity() -> None:
    d0, switch = date(2020, 1, 1), date(2023, 1, 1)
    units = [
        _v("01", "P", Level.PROVINCE, "01", d0, None),
        _v("001", "A", Level.DISTRICT, "01", d0, None),
        _v("002", "B", Level.DISTRICT, "01", d0, None),
        _v("00001", "C", Level.COMMUNE, "01", d0, None),
    ]
    links = [
        ParentLink("001", "01", d0, None),
        ParentLink("002", "01", d0, None),
        ParentLink("00001", "001", d0, date(2022, 12, 31)),
        ParentLink("00001", "002", switch, None),
    ]
    registry = Registry.from_rows(units, links)
    assert registry.chain("00001", date(2022, 12, 31)) == ("00001", "001", "01")
    assert registry.chain("00001", switch) == ("00001", "002", "01")


def test_steady_span_is_the_version_and_chain_in_force_or_the_gap_around_a_day() -> None:
    registry = reform_registry()
    old_end, new_start = date(2025, 6, 30), date(2025, 7, 1)
    assert registry.steady_span("04795", date(2022, 3, 15)) == (date(2020, 1, 1), old_end)
    assert registry.steady_span("04795", date(2030, 1, 1)) == (new_start, date.max)
    assert registry.steady_span("04789", date(2026, 1, 1)) == (new_start, date.max)  # abolished
    assert registry.steady_span("04789", date(2019, 12, 31)) == (date.min, date(2019, 12, 31))
    assert registry.steady_span("99999", date(2022, 1, 1)) == (date.min, date.max)  # never known
