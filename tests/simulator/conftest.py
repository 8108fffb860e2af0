"""One simulation of Hòa Bình shared by the generator and truth tests (made once a session)."""

from __future__ import annotations

import pytest

from models.registry import Registry
from streams.simulator import SimConfig, Simulation
from streams.simulator.records import SimRecord

#: The shared simulation's size and configuration.
N = 20_000
CONFIG = SimConfig(count=N, seed=11)


@pytest.fixture(scope="session")
def run(hoa_binh: Registry) -> tuple[Simulation, list[SimRecord]]:
    sim = Simulation(CONFIG, hoa_binh)
    return sim, list(sim)
