"""Property tests for targets: random target trees written as files, checked against a
plain model of inheritance (own target, else the nearest ancestor's on that day)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from models.registry import Level, Registry, Unit
from models.registry_rows import end_of
from models.targets import Targets

BEFORE, AFTER = date(2025, 6, 30), date(2025, 7, 1)


@st.composite
def percents(draw: st.DrawFn) -> tuple[str, Fraction]:
    """A value as written in the file (an integer or one decimal) and the fraction of 1."""
    tenths = draw(st.integers(0, 1000))
    if tenths % 10 == 0 and draw(st.booleans()):
        return str(tenths // 10), Fraction(tenths, 1000)
    return f"{tenths // 10}.{tenths % 10}", Fraction(tenths, 1000)


@dataclass
class Tree:
    """One random targets file and what it sets, keyed by unit version (code, valid_from)."""

    year: int
    province: str
    default: tuple[str, Fraction] | None = None
    departments: dict[str, tuple[str, Fraction]] = field(default_factory=dict)
    districts: dict[str, tuple[str, Fraction]] = field(default_factory=dict)
    communes: dict[str, dict[str, tuple[str, Fraction]]] = field(default_factory=dict)
    own: dict[tuple[str, date], Fraction] = field(default_factory=dict)

    def text(self) -> str:
        lines = [f"year: {self.year}", "provinces:", f'  "{self.province}":']
        if self.default is not None:
            lines.append(f"    default: {self.default[0]}")
        for section, values in (("departments", self.departments), ("districts", self.districts)):
            lines.append(f"    {section}:" + ("" if values else " {}"))
            lines += [f'      "{code}": {value}' for code, (value, _) in values.items()]
        lines.append("    communes:" + ("" if self.communes else " {}"))
        for setter, values in self.communes.items():
            lines.append(f'      "{setter}":')
            lines += [f'        "{code}": {value}' for code, (value, _) in values.items()]
        return "\n".join(lines) + "\n"

    def load(self, registry: Registry) -> Targets:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{self.year}.yaml"
            path.write_text(self.text(), encoding="utf-8")
            return Targets.load(Path(folder), registry)


def version(registry: Registry, code: str, day: date) -> Unit:
    unit = registry.resolve(code, day)
    assert unit is not None, (code, day)
    return unit


@st.composite
def trees(draw: st.DrawFn, registry: Registry, province: str, year: int) -> Tree:
    """A random file for ``province`` and ``year``: maybe a default, some departments and
    districts, some communes set by their district, and (after the reform) by the province.
    ``own`` records which unit version each value belongs to."""
    tree = Tree(year, province)
    first, last = date(year, 1, 1), date(year, 12, 31)
    before = min(last, BEFORE)  # the last day of the year with districts
    if draw(st.booleans()):
        tree.default = draw(percents())
        for unit in registry.versions(province):
            if unit.valid_from <= last and end_of(unit.valid_to) >= first:
                tree.own[(province, unit.valid_from)] = tree.default[1]
    departments = [
        u.code
        for u in registry.units(Level.DEPARTMENT, province=province)
        if u.valid_from <= last and end_of(u.valid_to) >= first
    ]
    chosen = draw(st.lists(st.sampled_from(departments), unique=True)) if departments else []
    for code in chosen:
        tree.departments[code] = draw(percents())
        tree.own[(code, registry.versions(code)[-1].valid_from)] = tree.departments[code][1]
    districts = [u.code for u in registry.units(Level.DISTRICT, province=province, on=before)]
    if first <= BEFORE and districts:
        for code in draw(st.lists(st.sampled_from(districts), unique=True, max_size=5)):
            tree.districts[code] = draw(percents())
            tree.own[(code, version(registry, code, before).valid_from)] = tree.districts[code][1]
        for setter in draw(st.lists(st.sampled_from(districts), unique=True, max_size=4)):
            communes = registry.children(setter, before)
            chosen = draw(st.lists(st.sampled_from(communes), unique=True, max_size=4))
            tree.communes[setter] = {code: draw(percents()) for code in chosen}
            for code in chosen:
                key = (code, version(registry, code, before).valid_from)
                tree.own[key] = tree.communes[setter][code][1]
    communes = registry.children(province, last) if last >= AFTER else []
    if communes:  # communes set by the province itself (no districts any more)
        chosen = draw(st.lists(st.sampled_from(communes), unique=True, max_size=6))
        if chosen:
            tree.communes[province] = {code: draw(percents()) for code in chosen}
        for code in chosen:
            key = (code, version(registry, code, last).valid_from)
            tree.own[key] = tree.communes[province][code][1]
    return tree


def expected(registry: Registry, tree: Tree, code: str, day: date) -> Fraction | None:
    """Own target of the version in force that day, else the nearest ancestor's.

    The ancestors by hand, from the shape of the hierarchy: a commune is under its district
    (under the province) before 1 July 2025, directly under the province from then on.
    """
    unit = registry.resolve(code, day)
    if unit is None:
        return None
    chain = [code]
    if unit.level is Level.COMMUNE and day <= BEFORE:
        district = registry.parent(code, day)
        assert district is not None and len(district) == 3
        chain.append(district)
    if unit.level is not Level.PROVINCE:
        chain.append(unit.province_code)
    for member in chain:
        value = tree.own.get((member, version(registry, member, day).valid_from))
        if value is not None:
            return value
    return None


def check(registry: Registry, tree: Tree, days: list[date]) -> None:
    targets = tree.load(registry)
    year = tree.year
    first, last = date(year, 1, 1), date(year, 12, 31)
    written = {code: value for code, (_, value) in tree.departments.items()}
    written |= {code: value for code, (_, value) in tree.districts.items()}
    for values in tree.communes.values():
        written |= {code: value for code, (_, value) in values.items()}
    if tree.default is not None:
        written[tree.province] = tree.default[1]
    assert targets.explicit(year) == written
    units = [u for u in registry.units() if u.valid_from <= last and end_of(u.valid_to) >= first]
    assert units
    for unit in units:
        code = unit.code
        for day in days:
            assert targets.target(code, year, on=day) == expected(registry, tree, code, day), (
                code,
                day,
            )
        # Without a day: the last day of the year on which the code is in force.
        last_day = max(
            min(last, end_of(u.valid_to)) for u in registry.versions(code) if u.valid_from <= last
        )
        assert targets.target(code, year) == expected(registry, tree, code, last_day), code
    # An override always wins over what its ancestors set, on every day of its version.
    for (code, valid_from), value in tree.own.items():
        day = max(first, valid_from)
        assert targets.target(code, year, on=day) == value


@settings(max_examples=60, deadline=None)
@given(data=st.data(), days=st.lists(st.dates(date(2022, 1, 1), date(2022, 12, 31)), max_size=2))
def test_random_targets_2022_hoa_binh(
    hoa_binh: Registry, data: st.DataObject, days: list[date]
) -> None:
    """The seed year: province default, department and district overrides, commune targets
    set by their district; every one of Hòa Bình's 177 units gets the model's answer."""
    tree = data.draw(trees(hoa_binh, "17", 2022), label="tree")
    check(hoa_binh, tree, [date(2022, 1, 1), *days, date(2022, 12, 31)])


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    days=st.lists(
        st.dates(date(2025, 1, 1), date(2025, 12, 31))
        | st.sampled_from([date(2025, 2, 28), date(2025, 3, 1), BEFORE, AFTER]),
        min_size=1,
        max_size=4,
    ),
)
def test_random_targets_2025_follow_the_date(
    hoa_binh: Registry, phu_tho: Registry, data: st.DataObject, days: list[date]
) -> None:
    """2025: Hòa Bình's departments merge on 1 March (a merged-away department's target stops
    there, the new one's starts) and the province ends on 30 June; Phú Thọ's districts are
    abolished on 1 July and its communes (codes reused) then take the province's targets."""
    province, registry = data.draw(st.sampled_from([("17", hoa_binh), ("25", phu_tho)]))
    tree = data.draw(trees(registry, province, 2025), label="tree")
    check(registry, tree, days)


def test_inheritance_model_is_not_trivial(hoa_binh: Registry) -> None:
    """The model used above, on a fixed file: a sanity check that it is not trivially
    agreeing (it gives different answers on either side of the merger and the reform)."""
    tree = Tree(2025, "17", default=("30", Fraction(3, 10)))
    tree.own[("17", date(2020, 1, 1))] = Fraction(3, 10)
    tree.departments["17.STNMT"] = ("50", Fraction(1, 2))
    tree.own[("17.STNMT", date(2020, 1, 1))] = Fraction(1, 2)
    feb28, mar1 = date(2025, 2, 28), date(2025, 3, 1)
    assert expected(hoa_binh, tree, "17.STNMT", feb28) == Fraction(1, 2)
    assert expected(hoa_binh, tree, "17.STNMT", mar1) is None
    assert expected(hoa_binh, tree, "17.SNNMT", mar1) == Fraction(3, 10)
    assert expected(hoa_binh, tree, "04789", BEFORE) == Fraction(3, 10)
    assert expected(hoa_binh, tree, "04789", AFTER) is None
    check(hoa_binh, tree, [feb28, mar1, BEFORE, AFTER, BEFORE + timedelta(days=-1)])
