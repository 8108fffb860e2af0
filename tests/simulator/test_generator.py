"""The generator: deterministic, the requested shape and rates, every malformed kind, and a
ground truth (from the generator's own intent) that equals the offline recount of its bytes."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from models.event_decode import decode_event
from models.events import EventError, Kind
from models.periods import VN_TZ, local_date
from models.registry import Registry
from streams.simulator import MALFORMED_KINDS, SCENARIOS, SimConfig, Simulation, generate
from streams.simulator.malformed import build_malformed
from streams.simulator.records import SimRecord
from tests.events import OFFLINE, event_dict
from tests.recount import recount

N = 20_000
CONFIG = SimConfig(count=N, seed=11)


@pytest.fixture(scope="module")
def run(hoa_binh: Registry) -> tuple[Simulation, list[SimRecord]]:
    sim = Simulation(CONFIG, hoa_binh)
    return sim, list(sim)


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


def test_truth_equals_the_offline_recount(
    hoa_binh: Registry, run: tuple[Simulation, list[SimRecord]]
) -> None:
    sim, records = run
    result = recount([r.value for r in records], hoa_binh)
    assert sim.truth.dead_letters == result.dead_letters
    expected = sim.truth.counter_dict()
    assert expected == result.counters
    assert len(expected) > 10_000


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenarios_agree_with_the_recount(hoa_binh: Registry, scenario: str) -> None:
    config = SimConfig(
        count=4000, seed=5, scenario=scenario, start=date(2022, 12, 1), end=date(2023, 2, 28)
    )
    sim = Simulation(config, hoa_binh)
    records = [r.value for r in sim]
    assert sim.truth.counter_dict() == recount(records, hoa_binh).counters


def _online_share(
    sim: Simulation, records: list[bytes], units: frozenset[str], lo: datetime, hi: datetime
) -> float:
    online = total = 0
    for raw in records:
        try:
            event = decode_event(raw)
        except EventError:
            continue
        if event.unit_code in units and lo <= event.event_time < hi and event.kind is Kind.PAYMENT:
            total += 1
            online += event.channel.is_online
    return online / total if total else float("nan")


def test_bank_outage_collapses_online_share(hoa_binh: Registry) -> None:
    config = SimConfig(
        count=60_000,
        seed=2,
        scenario="bank-outage",
        start=date(2022, 11, 1),
        end=date(2022, 11, 30),
        late_share=0.0,
    )
    sim = Simulation(config, hoa_binh)
    records = [r.value for r in sim]
    outage = sim.scenario.outage
    assert outage is not None
    units = sim.scenario.outage_units
    during = _online_share(sim, records, units, *outage)
    week = timedelta(days=7)
    before = _online_share(sim, records, units, outage[0] - week, outage[1] - week)
    assert during < 0.05 < before


def test_quiet_holiday_is_almost_silent(hoa_binh: Registry) -> None:
    config = SimConfig(
        count=30_000,
        seed=2,
        scenario="quiet-holiday",
        start=date(2023, 1, 1),
        end=date(2023, 2, 28),
        late_share=0.0,
    )
    sim = Simulation(config, hoa_binh)
    quiet = sim.scenario.quiet
    assert quiet is not None and quiet[0] <= date(2023, 1, 22) <= quiet[1]
    days: Counter[date] = Counter()
    for record in sim:
        with contextlib.suppress(EventError):
            days[local_date(decode_event(record.value).event_time)] += 1
    quiet_days = [n for d, n in days.items() if quiet[0] <= d <= quiet[1]]
    working = [n for d, n in days.items() if not quiet[0] <= d <= quiet[1] and d.weekday() < 5]
    # almost nothing: a quiet day sees under a tenth of an ordinary working day
    assert sum(quiet_days) / (quiet[1] - quiet[0]).days < 0.1 * sum(working) / len(working)


def test_pacer_holds_the_rate_and_stops_after_the_duration() -> None:
    import time

    from streams.simulator.output import Pacer

    records = [SimRecord(None, b"x")] * 100_000
    began = time.monotonic()
    assert len(list(Pacer(2000, None).pace(records[:600]))) == 600
    assert time.monotonic() - began == pytest.approx(0.3, abs=0.1)
    began = time.monotonic()
    sent = len(list(Pacer(1000, 0.4).pace(records)))
    assert time.monotonic() - began == pytest.approx(0.4, abs=0.1)
    assert sent == pytest.approx(400, abs=40)
