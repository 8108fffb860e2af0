"""Fixtures for the simulator and recount tests (pure, except the two CLI/Kafka tests)."""

from __future__ import annotations

import pytest

from models.registry import Registry


@pytest.fixture(scope="session")
def hoa_binh_registry() -> Registry:
    return Registry.load({"17"})
