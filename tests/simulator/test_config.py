"""What a simulation is asked for (streams/simulator/config.py): impossible requests refused
with the value named, and the description written into the truth file."""

from __future__ import annotations

import json
from datetime import date

import pytest

from streams.simulator import SimConfig


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": date(2023, 1, 2), "end": date(2023, 1, 1)}, "end 2023-01-01 is before start"),
        ({"count": -1}, "count must be >= 0, got -1"),
        ({"rate": -5.0}, "rate must be >= 0, got -5.0"),
        ({"late_share": 1.5}, "late_share must be within 0..1, got 1.5"),
        ({"duplicate_rate": 0.5, "malformed_rate": 0.4}, "leave too few payments"),
    ],
)
def test_an_impossible_request_is_refused_naming_it(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SimConfig(**changes)  # type: ignore[arg-type]


def test_the_fault_share_adds_every_kind_of_bad_or_extra_record() -> None:
    config = SimConfig()
    assert config.fault_share() == pytest.approx(0.05 + 0.01 + 0.002 + 0.002 + 0.001 + 0.001)


def test_the_description_is_json_without_the_extras() -> None:
    config = SimConfig(provinces=("17", "25"), extras={"note": object()})
    described = json.loads(json.dumps(config.describe()))
    assert described["start"] == "2022-10-01" and described["end"] == "2023-02-28"
    assert described["provinces"] == ["17", "25"] and "extras" not in described
    assert described["duplicate_rate"] == config.duplicate_rate
