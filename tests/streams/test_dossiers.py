"""The dossier stage's pure logic (streams/dossiers.py): rules 5 and 6 of the counting spec,
a replayed fact changing nothing, and counts independent of the order of the facts."""

from __future__ import annotations

import random

from models.registry import Registry
from streams import counters, dossiers
from streams.wire import Fact, UnitDelta, message_position, position
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


def message(facts: list[Fact], state: dict[str, dossiers.Dossier], offset: int) -> list[UnitDelta]:
    """The deltas of one message of ``facts`` at ``offset``, applied to ``state`` (changed)."""
    merged = dossiers.MessageDeltas()
    for item in facts:
        state[item.dossier], changes = dossiers.apply_fact(
            state.get(item.dossier, dossiers.Dossier({})), item
        )
        merged.add(item, changes)
    return merged.deltas(4, offset)


def test_a_message_makes_one_delta_per_unit_summing_its_facts_at_its_last_position() -> None:
    facts = [fact(f"t{i}", "2022-03-01", i, dossier=f"D-{i}") for i in range(100)]
    made = message(facts, {}, 7)
    assert [d.unit for d in made] == list(CHAIN)
    for delta in made:
        ((day, deltas),) = delta.changes
        assert day == "2022-03-01"
        assert deltas == (100, 100, 5_000_000, 5_000_000, 0, 0, 0, 0, 100, 100)
        assert delta.source_partition == 4
        # at or above every item of its message, below every item of the next one
        assert position(7, len(facts) - 1) <= delta.source_position == message_position(7)
        assert delta.source_position < position(8, 0)


def test_a_message_sums_per_day_and_unit_and_other_chains_get_their_own_deltas() -> None:
    other = ("04790", "148", "17")
    facts = [
        fact("a", "2022-03-01", 1, dossier="D-1"),
        fact("b", "2022-03-02", 2, dossier="D-2", online=False, amount=10_000),
        fact("c", "2022-03-02", 3, dossier="D-3", chain=other),
    ]
    made = {d.unit: dict(d.changes) for d in message(facts, {}, 0)}
    assert set(made) == {"04789", "04790", "148", "17"}
    assert made["04789"] == {
        "2022-03-01": (1, 1, 50_000, 50_000, 0, 0, 0, 0, 1, 1),
        "2022-03-02": (1, 0, 10_000, 0, 0, 0, 0, 0, 1, 0),
    }
    assert made["04790"] == {"2022-03-02": (1, 1, 50_000, 50_000, 0, 0, 0, 0, 1, 1)}
    assert made["17"]["2022-03-02"] == (2, 1, 60_000, 50_000, 0, 0, 0, 0, 2, 1)


def test_a_replayed_message_makes_no_delta() -> None:
    state: dict[str, dossiers.Dossier] = {}
    facts = [fact("a", "2022-03-01", 1), fact("a", "2022-03-01", 1, reversed=True)]
    assert message(facts, state, 0)
    assert message(facts, state, 0) == []


def cancelling() -> tuple[dict[str, dossiers.Dossier], list[UnitDelta], list[Fact]]:
    """Dossiers D-1 (counted on the 9th) and D-2 (on the 1st, a payment on the 9th too) with
    the deltas that made them, and a message moving D-1 to the 1st (a new payment) and D-2 to
    the 9th (its payment of the 1st reversed): on the 9th, one dossier leaves and one comes."""
    state: dict[str, dossiers.Dossier] = {}
    made = message(
        [
            fact("a", "2022-03-09", 9, dossier="D-1"),
            fact("b", "2022-03-01", 1, dossier="D-2"),
            fact("c", "2022-03-09", 9, dossier="D-2"),
        ],
        state,
        0,
    )
    moves = [
        fact("x", "2022-03-01", 1, dossier="D-1"),
        fact("b", "2022-03-01", 1, dossier="D-2", reversed=True),
    ]
    return state, made, moves


def test_a_day_whose_facts_cancel_out_stays_in_the_delta_as_zeros() -> None:
    state, _, moves = cancelling()
    for delta in message(moves, state, 1):
        days = dict(delta.changes)
        assert days["2022-03-09"] == (0,) * 10
        assert days["2022-03-01"] == (1, 1, 50_000, 50_000, 1, 1, 50_000, 50_000, 0, 0)


def test_a_partial_replay_of_a_message_whose_facts_cancel_out_changes_nothing() -> None:
    """After a crash half way through writing the dossier rows, the replay of a message starts
    from D-1 written (no change) and D-2 not (the same changes as the first time): its deltas
    must be dropped, on the 9th as elsewhere."""
    state, earlier, moves = cancelling()
    before = dict(state)  # apply_fact never changes a dossier it is given
    complete = message(moves, state, 1)
    partial_state = {"D-1": state["D-1"], "D-2": before["D-2"]}
    partial = message(moves, partial_state, 1)
    assert partial and partial != complete
    table: dict[str, counters.Row] = {}
    for delta in earlier + complete:
        counters.tally(delta, lambda _: counters.empty(), table)
    once = {key: counters.copied(row) for key, row in table.items()}
    for delta in partial:
        staged = counters.tally(delta, lambda _: counters.empty(), table)
        assert not any(fresh for _, _, fresh in staged)
    assert table == once


def test_each_newly_counted_payment_leaves_one_timing_on_its_first_units_delta() -> None:
    other = ("04790", "148", "17")
    facts = [
        fact("a", "2022-03-01", 7, produced_ms=1234),
        fact("b", "2022-03-01", 8, dossier="D-2", produced_ms=1300, chain=other),
        fact("c", "2022-03-01", 9, dossier="D-3"),  # rerouted: no record time
        fact("a", "2022-03-01", 7, produced_ms=1400),  # known already: not counted again
    ]
    made = {d.unit: d.timings for d in message(facts, {}, 0)}
    assert made == {"04789": ((7, 1234),), "148": (), "17": (), "04790": ((8, 1300),)}
