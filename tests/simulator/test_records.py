"""The records' wire form (streams/simulator/records.py): every time form the portal sends
names the same instant, and payloads are in the portal's field order."""

from __future__ import annotations

import json
import random
from datetime import datetime

from models.event_decode import decode_event
from models.event_time import parse_event_time
from models.periods import VN_TZ
from streams.simulator.records import encode, payload, render_time

MOMENT = datetime(2022, 12, 31, 23, 55, 7, tzinfo=VN_TZ)


def test_every_time_form_names_the_same_instant() -> None:
    rng = random.Random(1)
    forms = {render_time(MOMENT.timestamp(), rng) for _ in range(400)}
    assert {"2022-12-31T23:55:07+07:00", "2022-12-31T16:55:07Z", "2022-12-31T23:55:07"} <= forms
    assert "2022-12-31T23:55:07.000+07:00" in forms
    for text in forms:  # parsed as the decoder parses them (no offset: Vietnam time)
        assert parse_event_time(text, datetime) == MOMENT, text


def test_a_payload_decodes_as_the_event_it_describes() -> None:
    doc = payload(
        transaction_id="GD1",
        kind="refund",
        dossier_code="D1",
        procedure_code="1.001612",
        unit_code="04789",
        channel="offline_cash",
        amount=20_000,
        fee_type="le_phi",
        event_time="2022-03-01T09:00:00+07:00",
        provider=None,
        reverses="GD0",
    )
    assert list(doc)[:3] == ["schema_version", "transaction_id", "kind"]
    assert "provider" not in doc and doc["reverses"] == "GD0"
    event = decode_event(encode(doc))
    assert (event.transaction_id, event.reverses, event.amount) == ("GD1", "GD0", 20_000)
    assert json.loads(encode(doc)) == doc


def test_a_null_provider_is_written_when_asked() -> None:
    common = {
        "transaction_id": "GD1",
        "kind": "payment",
        "dossier_code": "D1",
        "procedure_code": "1.001612",
        "unit_code": "04789",
        "channel": "offline_cash",
        "amount": 20_000,
        "fee_type": "le_phi",
        "event_time": "2022-03-01T09:00:00+07:00",
        "provider": None,
        "reverses": None,
    }
    assert payload(**common, null_provider=True)["provider"] is None  # type: ignore[arg-type]
    assert "provider" not in payload(**common)  # type: ignore[arg-type]
