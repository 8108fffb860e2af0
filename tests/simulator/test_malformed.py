"""Bad records (streams/simulator/malformed.py): each kind is refused by the decoder with the
reason the simulator's truth expects."""

from __future__ import annotations

import random

import pytest

from models.event_decode import decode_event
from models.events import EventError
from streams.simulator import MALFORMED_KINDS
from streams.simulator.malformed import build_malformed
from tests.events import OFFLINE, event_dict


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_each_malformed_kind_is_rejected_with_its_reason(kind: str) -> None:
    valid = event_dict(
        **OFFLINE,
        transaction_id="GD1",
        dossier_code="D",
        procedure_code="1.001612",
        amount=20_000,
        event_time="2022-03-01T09:00:00+07:00",
    )
    rng = random.Random(kind)
    for _ in range(5):
        raw, reason = build_malformed(kind, valid, rng)
        with pytest.raises(EventError) as caught:
            decode_event(raw)
        assert caught.value.reason == reason
