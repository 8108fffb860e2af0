"""The published JSON Schema never drifts from the model."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from models.events import Channel, FeeType, Kind, PaymentEvent
from models.schema import json_schema, render

COMMITTED = (
    Path(__file__).resolve().parents[2] / "deploy" / "schema" / "payment-event.v1.schema.json"
)


def test_committed_schema_equals_generated() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "deploy/schema/payment-event.v1.schema.json is stale: run "
        ".venv/bin/python deploy/schema/generate.py"
    )


def test_schema_matches_struct() -> None:
    schema = json_schema()
    fields = {f.name: f for f in msgspec.structs.fields(PaymentEvent)}
    assert set(schema["properties"]) == set(fields)
    assert schema["required"] == [n for n, f in fields.items() if f.required]
    assert schema["additionalProperties"] is False
    assert sorted(schema["$defs"]["Kind"]["enum"]) == sorted(k.value for k in Kind)
    assert sorted(schema["$defs"]["Channel"]["enum"]) == sorted(c.value for c in Channel)
    assert sorted(schema["$defs"]["FeeType"]["enum"]) == sorted(f.value for f in FeeType)
    assert schema["properties"]["schema_version"]["const"] == 1
    assert "Asia/Ho_Chi_Minh" in schema["properties"]["event_time"]["description"]
    json.dumps(schema)  # serialisable
