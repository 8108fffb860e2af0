"""The generator (streams/simulator/generator.py): deterministic, the requested count, shape and
rates, and every kind of bad record."""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest

from models.event_decode import decode_event
from models.events import EventError, Kind
from models.periods import VN_TZ, local_date
from models.registry import Registry
from streams.simulator import MALFORMED_KINDS, Simulation, generate
from streams.simulator.records import SimRecord
from tests.simulator.conftest import CONFIG, N


def test_same_seed_same_bytes_other_seed_other_bytes(
    hoa_binh: Registry, run: tuple[Simulation, list[SimRecord]]
) -> None:
    _, records = run
    again = list(generate(CONFIG, hoa_binh))
    assert again == records
    other = list(generate(replace(CONFIG, seed=12, count=2000), hoa_binh))
    assert other != records[:2000]


def test_count_is_exact(hoa_binh: Registry) -> None:
    for count in (0, 1, 7, 500):
        assert len(list(generate(replace(CONFIG, count=count), hoa_binh))) == count


def test_requested_rates_show_up_in_the_output(run: tuple[Simulation, list[SimRecord]]) -> None:
    _, records = run
    seen: set[bytes] = set()
    duplicates = malformed = reversals = 0
    for record in records:
        if record.value in seen:
            duplicates += 1
            continue
        seen.add(record.value)
        try:
            event = decode_event(record.value)
        except EventError:
            malformed += 1
            continue
        if event.kind is not Kind.PAYMENT:
            reversals += 1
    assert duplicates / N == pytest.approx(CONFIG.duplicate_rate, abs=0.008)
    assert malformed / N == pytest.approx(CONFIG.malformed_rate, abs=0.003)
    # first reversals at the reversal rate, plus the few second and invalid ones
    expected = CONFIG.reversal_rate + CONFIG.already_reversed_rate + CONFIG.invalid_reversal_rate
    assert reversals / N == pytest.approx(expected, abs=0.005)


def test_shape_office_hours_units_providers_late_and_edges(
    run: tuple[Simulation, list[SimRecord]],
) -> None:
    _, records = run
    events = []
    for record in records:
        with contextlib.suppress(EventError):
            events.append(decode_event(record.value))
    local = [e.event_time.astimezone(VN_TZ) for e in events]
    office = sum(1 for t in local if t.weekday() < 5 and 7 <= t.hour < 17)
    assert office / len(local) > 0.75
    units = Counter(e.unit_code for e in events)
    assert len(units) > 150  # communes, districts and departments all receive dossiers
    assert Counter(e.channel.is_online for e in events)[True] / len(events) == pytest.approx(
        0.2, abs=0.1
    )
    assert {e.provider for e in events if e.provider} >= {"VNPAY", "NAPAS", "VIETTEL_MONEY"}
    assert sum(1 for e in events if e.amount == 0) > 0
    assert (
        Counter(e.dossier_code for e in events).most_common(1)[0][1] >= 3
    )  # multi-payment dossiers
    # late: an event time a week or more before the latest time already seen
    newest, late = local[0], 0
    for t in local:
        if t < newest - timedelta(days=7):
            late += 1
        newest = max(newest, t)
    assert late / len(local) > 0.01
    near_midnight = [
        t for t in local if (t.hour == 23 and t.minute >= 50) or (t.hour == 0 and t.minute < 10)
    ]
    assert len(near_midnight) > 50
    year_end = [t for t in near_midnight if (t.month, t.day) in {(12, 31), (1, 1)}]
    assert {local_date(t).year for t in year_end} == {2022, 2023}
    # time forms: offset, Z, none (Vietnam), milliseconds
    raw = b"".join(r.value for r in records[:3000])
    assert b'Z"' in raw and b'+07:00"' in raw and b'.000+07:00"' in raw


def test_every_malformed_kind_is_present(run: tuple[Simulation, list[SimRecord]]) -> None:
    sim, _ = run
    present = {k.split(":", 1)[1] for k in sim.truth.kinds if k.startswith("malformed:")}
    assert present == set(MALFORMED_KINDS)
    for kind in (
        "conflict",
        "unknown_unit",
        "already_reversed",
        "invalid_reversal",
        "reversal_before_payment",
        "duplicate",
    ):
        assert sim.truth.kinds[kind] > 0, kind
