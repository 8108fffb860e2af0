"""Raw-row validation (models/registry_rows.py): every bad row stops loading with a message
naming it."""

from __future__ import annotations

from datetime import date

import pytest

from models.registry import Level, ParentLink, Registry, RegistryError, Unit, validate_rows

D0 = date(2020, 1, 1)
END = date(2025, 6, 30)


def unit(code: str, level: Level, province: str = "01", start: date = D0, stop: date | None = END,
         name: str | None = None) -> Unit:  # fmt: skip
    return Unit(code, name or f"Unit {code}", level, level.value, province, start, stop)


def link(child: str, parent: str, start: date = D0, stop: date | None = END) -> ParentLink:
    return ParentLink(child, parent, start, stop, source="test")


def good_rows() -> tuple[list[Unit], list[ParentLink]]:
    units = [
        unit("01", Level.PROVINCE),
        unit("001", Level.DISTRICT),
        unit("00001", Level.COMMUNE),
        unit("01.SYT", Level.DEPARTMENT),
    ]
    links = [link("001", "01"), link("00001", "001"), link("01.SYT", "01")]
    return units, links


def expect_error(units: list[Unit], links: list[ParentLink], *needles: str) -> str:
    with pytest.raises(RegistryError) as info:
        validate_rows(units, links)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    with pytest.raises(RegistryError):
        Registry.from_rows(units, links)
    return message


def test_good_rows_pass() -> None:
    units, links = good_rows()
    validate_rows(units, links)
    assert Registry.from_rows(units, links).chain("00001", D0) == ("00001", "001", "01")


def test_cycle() -> None:
    units, links = good_rows()
    units.append(unit("002", Level.DISTRICT))
    links = [link("00001", "001"), link("001", "002"), link("002", "001"), link("01.SYT", "01")]
    message = expect_error(units, links, "cycle", "link 001 -> 002", "link 002 -> 001")
    assert "00001" not in message.split("cycle")[1].split("\n")[0]


def test_self_parent() -> None:
    units, links = good_rows()
    links.append(link("01", "01"))
    expect_error(units, links, "own parent", "link 01 -> 01")


def test_duplicate_code_overlapping() -> None:
    units, links = good_rows()
    units.append(unit("00001", Level.COMMUNE, start=date(2024, 1, 1), stop=None, name="Again"))
    expect_error(units, links, "duplicate code 00001", "'Unit 00001'", "'Again'", "2024-01-01..")


def test_duplicate_code_without_overlap_is_fine() -> None:
    units, links = good_rows()
    units.append(unit("00001", Level.COMMUNE, start=date(2025, 7, 1), stop=None, name="Reused"))
    units.append(unit("02", Level.PROVINCE, province="02", start=date(2025, 7, 1), stop=None))
    units[-2] = Unit("00001", "Reused", Level.COMMUNE, "xã", "02", date(2025, 7, 1), None)
    links.append(link("00001", "02", date(2025, 7, 1), None))
    validate_rows(units, links)


def test_unknown_parent() -> None:
    units, links = good_rows()
    links[1] = link("00001", "999")
    expect_error(units, links, "unknown parent 999", "link 00001 -> 999")


def test_unknown_child() -> None:
    units, links = good_rows()
    links.append(link("77777", "001"))
    expect_error(units, links, "unknown child 77777", "link 77777 -> 001")


def test_overlapping_links() -> None:
    units, links = good_rows()
    units.append(unit("002", Level.DISTRICT))
    links += [link("002", "01"), link("00001", "002", date(2024, 1, 1), END)]
    expect_error(
        units, links, "overlapping parent links of 00001", "link 00001 -> 001", "link 00001 -> 002"
    )


def test_parent_not_in_force_for_whole_link() -> None:
    units, links = good_rows()
    units[1] = unit("001", Level.DISTRICT, stop=date(2022, 12, 31))
    links[0] = link("001", "01", D0, date(2022, 12, 31))
    expect_error(units, links, "parent 001 not in force on 2023-01-01..2025-06-30", "00001 -> 001")


def test_orphan_unit() -> None:
    units, links = good_rows()
    links[1] = link("00001", "001", D0, date(2021, 12, 31))
    expect_error(units, links, "no parent on 2022-01-01..2025-06-30", "unit 00001")


def test_wrong_parent_level() -> None:
    units, links = good_rows()
    links[2] = link("01.SYT", "001")
    expect_error(units, links, "a department cannot have a district as parent", "01.SYT -> 001")


def test_province_with_parent() -> None:
    units, links = good_rows()
    units.append(unit("02", Level.PROVINCE, province="02"))
    links.append(link("02", "01"))
    expect_error(units, links, "province", "link 02 -> 01")


def test_cross_province_link() -> None:
    units, links = good_rows()
    units.append(unit("02", Level.PROVINCE, province="02"))
    units[2] = unit("00001", Level.COMMUNE, province="02")
    expect_error(units, links, "different provinces", "link 00001 -> 001")


def test_dates_reversed() -> None:
    units, links = good_rows()
    units.append(unit("002", Level.DISTRICT, start=date(2023, 1, 1), stop=date(2022, 1, 1)))
    links.append(link("002", "01", date(2023, 1, 1), date(2022, 1, 1)))
    expect_error(units, links, "valid_to before valid_from", "unit 002", "link 002 -> 01")


def test_all_problems_are_listed() -> None:
    units, links = good_rows()
    links[1] = link("00001", "999")
    links.append(link("77777", "001"))
    message = expect_error(units, links, "unknown parent 999", "unknown child 77777")
    assert message.startswith("4 invalid registry row(s)") or "invalid registry row" in message
