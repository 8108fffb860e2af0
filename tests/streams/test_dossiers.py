"""The dossier stage's pure logic (streams/dossiers.py): rules 5 and 6 of the counting spec,
a replayed fact changing nothing, and counts independent of the order of the facts."""

from __future__ import annotations

import random

from models.registry import Registry
from streams import counters, dossiers
from streams.wire import Fact
from tests.events import small_cases
from tests.streams.stages import chained, dossier_deltas, ingest_facts

CHAIN = ("04789", "148", "17")
DOSSIERS = counters.INDEX["dossiers"]
DOSSIERS_ONLINE = counters.INDEX["dossiers_online"]
REVERSED = counters.INDEX["reversed"]


def fact(tx: str, day: str, time_us: int, **changes: object) -> Fact:
    fields: dict[str, object] = {
        "tx": tx,
        "dossier": "D-1",
        "chain": CHAIN,
        "day": day,
        "event_time_us": time_us,
        "online": True,
        "amount": 50_000,
        "reversed": False,
    }
    fields.update(changes)
    return Fact(**fields)  # type: ignore[arg-type]


def test_a_replayed_fact_changes_nothing(hoa_binh: Registry) -> None:
    facts = ingest_facts(small_cases(), hoa_binh)
    assert dossier_deltas(facts * 2) == dossier_deltas(facts)


def test_dossier_counts_do_not_depend_on_order(hoa_binh: Registry) -> None:
    records, seen = [], set()
    for key, value in small_cases():  # payments only, one record per transaction id
        if b"payment" in value and key not in seen:
            seen.add(key)
            records.append((key, value))
    expected = chained(records, hoa_binh)
    for seed in range(5):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert chained(shuffled, hoa_binh) == expected


def test_a_dossier_counts_once_on_its_first_payments_day_whatever_arrives_first() -> None:
    early, late = fact("a", "2022-03-01", 1), fact("b", "2022-03-09", 2, online=False)
    dossier, changes = dossiers.apply_fact(dossiers.Dossier({}), late)
    assert changes["17"] == (("2022-03-09", (1, 0, 50_000, 0, 0, 0, 0, 0, 1, 0)),)
    dossier, changes = dossiers.apply_fact(dossier, early)
    # the dossier moves to the earlier day and is online now: it had one online payment
    day_9, day_1 = dict(changes["04789"])["2022-03-09"], dict(changes["04789"])["2022-03-01"]
    assert (day_9[DOSSIERS], day_9[DOSSIERS_ONLINE]) == (-1, 0)
    assert (day_1[DOSSIERS], day_1[DOSSIERS_ONLINE]) == (1, 1)
    assert dossiers.contribution(dossier) == (CHAIN, "2022-03-01", True)


def test_a_reversal_counts_once_and_a_dossier_with_nothing_paid_left_counts_nowhere() -> None:
    dossier, _ = dossiers.apply_fact(dossiers.Dossier({}), fact("a", "2022-03-01", 1))
    dossier, changes = dossiers.apply_fact(dossier, fact("a", "2022-03-01", 1, reversed=True))
    ((day, deltas),) = changes["148"]
    assert day == "2022-03-01"
    assert (deltas[REVERSED], deltas[DOSSIERS], deltas[DOSSIERS_ONLINE]) == (1, -1, -1)
    assert dossiers.contribution(dossier) is None
    again, none = dossiers.apply_fact(dossier, fact("a", "2022-03-01", 1, reversed=True))
    assert none == {} and again is dossier


def test_a_dossier_survives_its_storage_form() -> None:
    dossier, _ = dossiers.apply_fact(dossiers.Dossier({}), fact("a", "2022-03-01", 1))
    assert dossiers.load(dossiers.dump(dossier)) == dossier
    assert dossiers.load(None) == dossiers.Dossier({})


def test_only_the_first_unit_delta_carries_the_produce_time() -> None:
    paid = fact("a", "2022-03-01", 7, produced_ms=1234)
    _, changes = dossiers.apply_fact(dossiers.Dossier({}), paid)
    made = dossiers.unit_deltas(paid, changes, 2, 99)
    assert [d.unit for d in made] == list(CHAIN)
    assert [d.produced_ms for d in made] == [1234, 0, 0]
    assert {(d.source_partition, d.source_position, d.event_time_us) for d in made} == {(2, 99, 7)}
