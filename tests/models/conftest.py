"""Shared fixtures for the pure models tests (no broker, no Redis, no event loop)."""

from __future__ import annotations

import pytest

from models.registry import Registry


@pytest.fixture(scope="session")
def vietnam() -> Registry:
    return Registry.load()


@pytest.fixture(scope="session")
def phu_tho() -> Registry:
    return Registry.load({"25"})
