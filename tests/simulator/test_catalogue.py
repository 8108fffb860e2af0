"""Procedures, fees, channels and providers (streams/simulator/catalogue.py): every value one the
event schema accepts, the shares proper weights."""

from __future__ import annotations

import pytest

from models.events import Channel, FeeType
from models.registry_rows import Level
from streams.simulator.catalogue import (
    OFFLINE_CHANNELS,
    ONLINE_CHANNELS,
    PROVIDERS,
    procedures_for,
)


@pytest.mark.parametrize("level", [Level.COMMUNE, Level.DISTRICT, Level.DEPARTMENT])
def test_each_level_has_its_procedures_with_valid_fees(level: Level) -> None:
    procedures = procedures_for(level)
    assert procedures and len({p.code for p in procedures}) == len(procedures)
    for procedure in procedures:
        assert FeeType(procedure.fee_type)
        assert procedure.weight > 0 and procedure.amounts
        assert all(amount >= 0 for amount in procedure.amounts)
    assert any(p.amounts == (0,) for p in procedures)  # a free procedure (Decision 766)
    assert any(min(p.amounts) > 0 for p in procedures)


def test_the_three_levels_have_different_procedures() -> None:
    codes = [{p.code for p in procedures_for(level)} for level in Level if level != Level.PROVINCE]
    assert sum(len(c) for c in codes) == len(set().union(*codes))


def test_channels_are_the_schemas_and_online_ones_are_online() -> None:
    assert all(Channel(name).is_online for name, _ in ONLINE_CHANNELS)
    assert not any(Channel(name).is_online for name, _ in OFFLINE_CHANNELS)
    assert {name for name, _ in ONLINE_CHANNELS + OFFLINE_CHANNELS} == {c.value for c in Channel}


@pytest.mark.parametrize("shares", [PROVIDERS, ONLINE_CHANNELS, OFFLINE_CHANNELS])
def test_shares_add_up_to_one(shares: tuple[tuple[str, float], ...]) -> None:
    assert sum(share for _, share in shares) == pytest.approx(1.0)
    assert len({name for name, _ in shares}) == len(shares)
