"""What each dashboard view lists and reads (pure: the registry and targets, no Redis)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from dashboard.views import COMPACT_FIELDS, SPARK_DAYS, Kind, ViewError, plan_view
from models.registry import Registry
from models.targets import Targets

ROOT = Path(__file__).resolve().parents[2]


def test_overview_lists_the_province_then_its_districts_and_departments(
    hoa_binh: Registry, hoa_binh_targets: Targets
) -> None:
    view = plan_view(hoa_binh, hoa_binh_targets, Kind.CHILDREN, "17", "2022")
    assert view.units[0].code == "17" and view.units[0].name == "Tỉnh Hòa Bình"
    levels = {u.level for u in view.units[1:]}
    assert levels == {"district", "department"}
    assert len([u for u in view.units if u.level == "district"]) == 10
    assert all(u.target == 0.3 for u in view.units if u.level == "district")
    assert view.ancestors == ()
    assert view.covers("152", "2022-10-03") and view.covers("17", "2022")
    assert not view.covers("04924", "2022") and not view.covers("152", "2023")


def test_drill_down_lists_the_district_and_its_communes_with_their_own_targets(
    hoa_binh: Registry, hoa_binh_targets: Targets
) -> None:
    view = plan_view(hoa_binh, hoa_binh_targets, Kind.CHILDREN, "148", "2022")
    codes = [u.code for u in view.units]
    assert codes[0] == "148" and "04789" in codes and "04924" not in codes
    by_code = {u.code: u for u in view.units}
    assert by_code["04789"].target == 0.4  # set by the district in the targets file
    assert by_code["04789"].name == "Phường Thái Bình"
    assert [a.code for a in view.ancestors] == ["17"]


def test_a_children_view_reads_year_rows_whole_and_only_its_last_days(
    hoa_binh: Registry, hoa_binh_targets: Targets
) -> None:
    view = plan_view(hoa_binh, hoa_binh_targets, Kind.CHILDREN, "148", "2022")
    days = [(date(2022, 1, 1) + timedelta(days=n)).isoformat() for n in range(59)]  # to 28 Feb
    periods = {"148": ["2021", "2022", "2022-01", "2022-02", *days], "04789": ["2022", days[0]]}
    wanted = view.wanted(periods)
    assert ("148", "2022", None) in wanted and ("04789", "2022", None) in wanted
    assert ("148", "2022-02", COMPACT_FIELDS) in wanted
    read_days = sorted(p for u, p, _ in wanted if u == "148" and len(p) == 10)
    assert len(read_days) == SPARK_DAYS and read_days[-1] == "2022-02-28"
    assert ("04789", days[0], COMPACT_FIELDS) not in wanted  # before the window
    assert all(p[:4] == "2022" for _, p, _ in wanted)


def test_a_unit_page_reads_every_day_of_its_year(
    hoa_binh: Registry, hoa_binh_targets: Targets
) -> None:
    view = plan_view(hoa_binh, hoa_binh_targets, Kind.UNIT, "04789", "2022")
    assert [u.code for u in view.units] == ["04789"]
    assert [a.code for a in view.ancestors] == ["17", "148"]
    days = [f"2022-01-{d:02d}" for d in range(1, 32)]
    wanted = view.wanted({"04789": ["2022", "2022-01", *days]})
    assert len(wanted) == 2 + len(days)


def test_unknown_units_and_bad_years_are_refused_with_the_value(
    hoa_binh: Registry, hoa_binh_targets: Targets
) -> None:
    with pytest.raises(ViewError, match="'99999'"):
        plan_view(hoa_binh, hoa_binh_targets, Kind.CHILDREN, "99999", "2022")
    with pytest.raises(ViewError, match="'22'"):
        plan_view(hoa_binh, hoa_binh_targets, Kind.UNIT, "04789", "22")
