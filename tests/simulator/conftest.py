"""Fixtures for the simulator and recount tests (pure, except the two CLI/Kafka tests)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:  # so that `tests.recount` and the packages import from the root
    sys.path.insert(0, ROOT)

import pytest  # noqa: E402

from models.registry import Registry  # noqa: E402


@pytest.fixture(scope="session")
def hoa_binh_registry() -> Registry:
    return Registry.load({"17"})
