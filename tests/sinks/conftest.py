"""Shared fixtures of the sinks tests: the Hòa Bình registry, its 2022 targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.registry import Registry
from models.targets import Targets
from sinks.units import UnitDirectory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def hoa_binh() -> Registry:
    return Registry.load({"17"})


@pytest.fixture(scope="session")
def targets(hoa_binh: Registry) -> Targets:
    return Targets.load(ROOT / "deploy" / "targets", hoa_binh)


@pytest.fixture
def directory(hoa_binh: Registry, targets: Targets) -> UnitDirectory:
    return UnitDirectory(hoa_binh, targets)
