"""Shared fixtures of the sinks tests: the unit directory of Hòa Bình with its 2022 targets."""

from __future__ import annotations

import pytest

from models.registry import Registry
from models.targets import Targets
from sinks.unit_directory import UnitDirectory


@pytest.fixture
def directory(hoa_binh: Registry, hoa_binh_targets: Targets) -> UnitDirectory:
    return UnitDirectory(hoa_binh, hoa_binh_targets)
