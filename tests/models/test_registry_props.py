"""Property tests for the unit registry: chains on the real package data (2022 and across
the 2025 reform), chains of random effective-dated registries against a plain walk over
the rows, and random defects (cycles, duplicates, unknown codes) refused naming the rows."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from models.departments import department_rows, parse_departments
from models.gso import gso_rows
from models.gso2025 import reform_rows
from models.registry import Level, ParentLink, Registry, RegistryError, Unit, validate_rows
from models.registry_rows import describe_link, describe_unit, end_of

BEFORE, AFTER = date(2025, 6, 30), date(2025, 7, 1)
D0 = date(2020, 1, 1)

#: Height in the hierarchy: a parent is always strictly higher than its child.
HEIGHT = {Level.PROVINCE: 2, Level.DISTRICT: 1, Level.DEPARTMENT: 1, Level.COMMUNE: 0}

Row = Unit | ParentLink


def in_force(row: Row, day: date) -> bool:
    return row.valid_from <= day <= end_of(row.valid_to)


# --- the real package data -------------------------------------------------------------


@dataclass(frozen=True)
class Rows:
    """The raw rows the whole-country registry is built from, indexed by code."""

    units: dict[str, list[Unit]]
    links: dict[str, list[ParentLink]]
    codes: dict[Level, list[str]]  # by level, so that the few departments get drawn too
    by_code: list[Unit]  # every version, ordered by code


@lru_cache(maxsize=1)
def real_rows() -> Rows:
    units: dict[str, list[Unit]] = defaultdict(list)
    links: dict[str, list[ParentLink]] = defaultdict(list)
    for more_units, more_links in (gso_rows(), reform_rows(), department_rows()):
        for unit in more_units:
            units[unit.code].append(unit)
        for link in more_links:
            links[link.child].append(link)
    by_code = sorted((u for versions in units.values() for u in versions), key=lambda u: u.code)
    codes = {level: sorted({u.code for u in by_code if u.level is level}) for level in Level}
    return Rows(dict(units), dict(links), codes, by_code)


#: Days in 2022 (the seed year), around the department mergers of 1 March 2025 and the
#: reform of 1 July 2025, and anywhere (including before the data starts and long after).
days = st.one_of(
    st.dates(date(2022, 1, 1), date(2022, 12, 31)),
    st.dates(date(2025, 1, 1), date(2025, 12, 31)),
    st.sampled_from([date(2025, 2, 28), date(2025, 3, 1), BEFORE, AFTER]),
    st.dates(date(2019, 6, 1), date(2030, 12, 31)),
)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), level=st.sampled_from(list(Level)), day=days)
def test_real_chain_is_a_valid_path_to_the_province(
    vietnam: Registry, data: st.DataObject, level: Level, day: date
) -> None:
    rows = real_rows()
    code = data.draw(st.sampled_from(rows.codes[level]), label="code")
    chain = vietnam.chain(code, day)
    versions = [u for u in rows.units[code] if in_force(u, day)]
    if not versions:
        assert chain == ()
        assert vietnam.resolve(code, day) is None
        assert vietnam.parent(code, day) is None
        return
    (unit,) = versions  # never two versions of a code on one day
    assert vietnam.resolve(code, day) == unit
    assert chain[0] == code
    assert len(set(chain)) == len(chain)  # acyclic
    members = []
    for member in chain:
        (version,) = [u for u in rows.units[member] if in_force(u, day)]
        members.append(version)
    # Each link of the chain is a link row in force that day, and the only one of its child.
    for child, parent in itertools.pairwise(chain):
        assert [k.parent for k in rows.links.get(child, []) if in_force(k, day)] == [parent]
    assert [k for k in rows.links.get(chain[-1], []) if in_force(k, day)] == []
    heights = [HEIGHT[u.level] for u in members]
    assert heights == sorted(heights) and len(set(heights)) == len(heights)  # strictly up
    assert members[-1].level is Level.PROVINCE
    province = chain[-1]
    assert {u.province_code for u in members} == {province}
    # The shape of Vietnam's hierarchy: districts only before the reform.
    depth = {Level.PROVINCE: 1, Level.DISTRICT: 2, Level.DEPARTMENT: 2}
    depth[Level.COMMUNE] = 3 if day <= BEFORE else 2
    assert len(chain) == depth[unit.level]
    assert vietnam.parent(code, day) == (chain[1] if len(chain) > 1 else None)
    assert unit in vietnam.units(unit.level, province=province, on=day)
    if len(chain) > 1:
        assert code in vietnam.children(chain[1], day)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), level=st.sampled_from(list(Level)), day=days)
def test_real_units_by_level_and_province_agree_with_chain(
    vietnam: Registry, data: st.DataObject, level: Level, day: date
) -> None:
    province = data.draw(st.sampled_from(sorted(vietnam.provinces())), label="province")
    listed = vietnam.units(level, province=province, on=day)
    expected = [
        u
        for u in real_rows().by_code
        if u.level is level and u.province_code == province and in_force(u, day)
    ]
    assert listed == expected  # same units, ordered by code
    for unit in listed:
        chain = vietnam.chain(unit.code, day)
        assert chain[0] == unit.code and chain[-1] == province
        assert vietnam.resolve(unit.code, day) == unit


# --- random effective-dated registries ------------------------------------------------


@dataclass
class World:
    """Rows of a random valid registry and the days worth looking at."""

    units: list[Unit] = field(default_factory=list)
    links: list[ParentLink] = field(default_factory=list)
    days: set[date] = field(default_factory=set)

    def unit(self, code: str, level: Level, province: str, start: date, stop: date | None) -> None:
        self.units.append(
            Unit(
                code,
                f"{level.value} {code} from {start}",
                level,
                level.value,
                province,
                start,
                stop,
            )
        )
        self.days.update({start - timedelta(days=1), start})
        if stop is not None:
            self.days.update({stop, stop + timedelta(days=1)})

    def link(self, child: str, parent: str, start: date, stop: date | None) -> None:
        self.links.append(ParentLink(child, parent, start, stop, source="random"))
        self.days.add(start)
        if stop is not None:
            self.days.update({stop, stop + timedelta(days=1)})


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """Provinces that continue, are split into two versions or are retired at a reform day;
    districts abolished at the reform; communes that may change district mid-way and may
    come back after the reform under another province (a reused code); departments."""
    world = World()
    reform = draw(st.dates(date(2021, 1, 1), date(2026, 12, 31)), label="reform")
    last_old = reform - timedelta(days=1)
    fates = draw(
        st.lists(st.sampled_from(["open", "split", "retired"]), min_size=1, max_size=3),
        label="provinces",
    )
    continuing = [f"{i + 1:02d}" for i, fate in enumerate(fates) if fate != "retired"]
    commune_codes = itertools.count(1)
    for index, fate in enumerate(fates):
        province = f"{index + 1:02d}"
        if fate == "open":
            world.unit(province, Level.PROVINCE, province, D0, None)
        else:
            world.unit(province, Level.PROVINCE, province, D0, last_old)
            if fate == "split":
                world.unit(province, Level.PROVINCE, province, reform, None)
        end = last_old if fate == "retired" else None
        for j in range(draw(st.integers(0, 2))):
            code = f"{province}.S{j}"
            stop = draw(st.one_of(st.just(end), st.dates(D0, last_old)))
            world.unit(code, Level.DEPARTMENT, province, D0, stop)
            world.link(code, province, D0, stop)
        districts = [f"{index + 1}{j:02d}" for j in range(draw(st.integers(0, 3)))]
        for district in districts:
            world.unit(district, Level.DISTRICT, province, D0, last_old)
            world.link(district, province, D0, last_old)
        for district in districts:
            for _ in range(draw(st.integers(0, 3))):
                code = f"{next(commune_codes):05d}"
                world.unit(code, Level.COMMUNE, province, D0, last_old)
                other = draw(st.sampled_from(districts))
                if other != district and last_old > D0:
                    switch = draw(st.dates(D0 + timedelta(days=1), last_old))
                    world.link(code, district, D0, switch - timedelta(days=1))
                    world.link(code, other, switch, last_old)
                else:
                    world.link(code, district, D0, last_old)
                if continuing and bool(draw(st.booleans())):  # reused after the reform
                    new_province = draw(st.sampled_from(continuing))
                    world.unit(code, Level.COMMUNE, new_province, reform, None)
                    world.link(code, new_province, reform, None)
    for province in continuing:
        for _ in range(draw(st.integers(0, 2))):  # new communes, directly under the province
            code = f"{next(commune_codes):05d}"
            world.unit(code, Level.COMMUNE, province, reform, None)
            world.link(code, province, reform, None)
    world.days.update(draw(st.lists(st.dates(date(2019, 1, 1), date(2028, 12, 31)), max_size=3)))
    return world


def walk(world: World, code: str, day: date) -> tuple[str, ...]:
    """The chain by hand: follow the one link in force from each unit in force."""
    chain: list[str] = []
    while any(u.code == code and in_force(u, day) for u in world.units):
        assert code not in chain, f"cycle through {code}"
        chain.append(code)
        parents = [k.parent for k in world.links if k.child == code and in_force(k, day)]
        assert len(parents) <= 1
        if not parents:
            return tuple(chain)
        code = parents[0]
    return ()


@settings(max_examples=100, deadline=None)
@given(world=worlds())
def test_random_registry_agrees_with_a_walk_over_its_rows(world: World) -> None:
    validate_rows(world.units, world.links)
    registry = Registry.from_rows(world.units, world.links)
    codes = sorted({u.code for u in world.units})
    for day in sorted(world.days):
        for code in codes:
            chain = registry.chain(code, day)
            assert chain == walk(world, code, day), (code, day)
            versions = [u for u in world.units if u.code == code and in_force(u, day)]
            assert registry.resolve(code, day) == (versions[0] if versions else None)
            if not chain:
                continue
            members = [registry.resolve(c, day) for c in chain]
            assert all(m is not None for m in members)
            heights = [HEIGHT[m.level] for m in members if m is not None]
            assert heights == sorted(set(heights))  # strictly up
            assert {m.province_code for m in members if m is not None} == {chain[-1]}
            children = [k.child for k in world.links if k.parent == code and in_force(k, day)]
            assert registry.children(code, day) == sorted(children)
        for level in Level:
            for province in registry.provinces():
                expected = sorted(
                    (
                        u
                        for u in world.units
                        if u.level is level and u.province_code == province and in_force(u, day)
                    ),
                    key=lambda u: u.code,
                )
                listed = registry.units(level, province=province, on=day)
                assert listed == expected
                assert all(registry.chain(u.code, day)[-1] == province for u in listed)


# --- random defects are refused, naming the rows -----------------------------------------


@dataclass(frozen=True)
class Defect:
    """Rows added to a valid registry and words that one line of the error must contain."""

    units: tuple[Unit, ...]
    links: tuple[ParentLink, ...]
    needles: tuple[str, ...]


@st.composite
def cycles(draw: st.DrawFn, world: World, tag: int) -> Defect:
    """k new units whose links form a ring (k = 1: a unit is its own parent)."""
    province = draw(st.sampled_from(sorted({u.province_code for u in world.units})))
    level = draw(st.sampled_from([Level.DISTRICT, Level.COMMUNE, Level.DEPARTMENT]))
    size = draw(st.integers(1, 4))
    codes = [f"9{tag}{i}" for i in range(size)]
    units = tuple(Unit(c, f"Ring {c}", level, level.value, province, D0, None) for c in codes)
    links = tuple(
        ParentLink(c, codes[(i + 1) % size], D0, None, source="random") for i, c in enumerate(codes)
    )
    problem = "cycle: a unit is its own parent" if size == 1 else "cycle of parent links"
    return Defect(units, links, (problem, *(describe_link(k) for k in links)))


@st.composite
def duplicates(draw: st.DrawFn, world: World, tag: int) -> Defect:
    """Another version of an existing code whose validity overlaps the existing one."""
    original = draw(st.sampled_from(world.units))
    start = draw(st.dates(original.valid_from, min(end_of(original.valid_to), date(2030, 1, 1))))
    stop = draw(st.one_of(st.none(), st.dates(start, date(2031, 1, 1))))
    copy = Unit(
        original.code,
        f"Duplicate {tag}",
        original.level,
        original.division_type,
        original.province_code,
        start,
        stop,
    )
    needles = (f"duplicate code {original.code} with overlapping validity",)
    return Defect((copy,), (), (*needles, describe_unit(original), describe_unit(copy)))


@st.composite
def unknown_ends(draw: st.DrawFn, world: World, tag: int) -> Defect:
    """A link from an existing unit to an unknown parent, or from an unknown child."""
    known = draw(st.sampled_from(world.units))
    unknown = f"8{tag}{draw(st.integers(0, 999)):03d}"
    start = draw(st.dates(D0, date(2027, 1, 1)))
    if draw(st.booleans()):
        link = ParentLink(known.code, unknown, start, None, source="random")
        return Defect((), (link,), (f"unknown parent {unknown}", describe_link(link)))
    link = ParentLink(unknown, known.code, start, None, source="random")
    return Defect((), (link,), (f"unknown child {unknown}", describe_link(link)))


def line_with(message: str, needles: tuple[str, ...]) -> bool:
    return any(all(n in line for n in needles) for line in message.splitlines())


@settings(max_examples=100, deadline=None)
@given(data=st.data(), world=worlds())
def test_random_defects_are_refused_naming_the_rows(data: st.DataObject, world: World) -> None:
    kinds = data.draw(
        st.lists(st.sampled_from([cycles, duplicates, unknown_ends]), min_size=1, max_size=3),
        label="defects",
    )
    defects = [data.draw(kind(world, tag), label=kind.__name__) for tag, kind in enumerate(kinds)]
    units = world.units + [u for d in defects for u in d.units]
    links = world.links + [k for d in defects for k in d.links]
    with pytest.raises(RegistryError) as info:
        Registry.from_rows(units, links)
    message = str(info.value)
    assert message.splitlines()[0].endswith("invalid registry row(s):")
    assert "more" not in message.splitlines()[-1]  # nothing cut off
    for defect in defects:
        assert line_with(message, defect.needles), (defect.needles, message)
    # Without the defects, the same rows load.
    Registry.from_rows(world.units, world.links)


@settings(max_examples=60, deadline=None)
@given(
    spans=st.lists(
        st.tuples(st.dates(D0, date(2026, 12, 31)), st.none() | st.integers(0, 2000)),
        min_size=1,
        max_size=6,
    ),
    repeats=st.lists(st.integers(0, 5), max_size=3),
)
def test_department_file_with_duplicate_codes_is_refused(
    spans: list[tuple[date, int | None]], repeats: list[int]
) -> None:
    """A department file (the registry's own data file) listing a code twice with
    overlapping validity stops loading; the error names both rows and the file."""
    source = "models/data/departments/17.yaml"
    entries: list[dict[str, Any]] = []
    for i, (start, length) in enumerate(spans):
        stop = None if length is None else start + timedelta(days=length)
        entries.append(
            {"code": f"17.S{i}", "name": f"Sở {i}", "valid_from": start, "valid_to": stop}
        )
    doubled = sorted({r % len(spans) for r in repeats})
    for i in doubled:
        again = dict(entries[i], name=f"Sở {i} again")
        entries.append(again)
    text = yaml.safe_dump({"province": "17", "departments": entries}, allow_unicode=True)
    units, links = parse_departments(yaml.safe_load(text), source)
    province = Unit("17", "Tỉnh Hòa Bình", Level.PROVINCE, "tỉnh", "17", D0, None)
    if not doubled:
        registry = Registry.from_rows([province, *units], links)
        for entry in entries:
            assert registry.chain(entry["code"], entry["valid_from"]) == (entry["code"], "17")
        return
    with pytest.raises(RegistryError) as info:
        Registry.from_rows([province, *units], links)
    message = str(info.value)
    for i in doubled:
        code = f"17.S{i}"
        first, second = [u for u in units if u.code == code]
        assert line_with(
            message,
            (f"duplicate code {code}", describe_unit(first), describe_unit(second)),
        ), message
        pair = [describe_link(k) for k in links if k.child == code]
        assert all(f"[{source}]" in described for described in pair)
        assert line_with(message, (f"overlapping parent links of {code}", *pair)), message
