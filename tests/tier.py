"""The fast tier (`make test-unit`, `pytest --unit`): every test that needs no Kafka, Redis,
Prometheus, Alertmanager, worker or browser and is not marked ``slow``, with no stack running.

A test is in the server tier (marker ``servers``) when it uses a server fixture (marked at
collection, see tests/conftest.py) or says so with ``pytest.mark.servers``. A test that needs a
server and says neither cannot pass in the fast tier unnoticed: there the server fixtures and
every helper that starts a server, a worker or a browser fail the test with a message that
names the missing marker (`refuse_in_unit_tier`), and no stack is started.
"""

from __future__ import annotations

import os

import pytest

#: Set (to "1") for the whole session by `pytest --unit`, and so seen by subprocesses too.
UNIT_TIER_ENV = "PAYWATCH_TEST_UNIT_TIER"


def in_unit_tier() -> bool:
    return os.environ.get(UNIT_TIER_ENV) == "1"


def enter_unit_tier() -> None:
    os.environ[UNIT_TIER_ENV] = "1"


def refuse_in_unit_tier(server: str) -> None:
    """Fail the running test if it is in the fast tier: it starts or uses ``server``."""
    if in_unit_tier():
        pytest.fail(
            f"this test needs {server}, so it is not server-free: mark it with "
            "pytest.mark.servers (or use a server fixture) so that `make test-unit` leaves it out",
            pytrace=False,
        )
