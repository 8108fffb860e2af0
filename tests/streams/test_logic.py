"""The stages' pure logic chained in memory (no broker): equals the offline recount, and a
replayed fact or delta changes nothing."""

from __future__ import annotations

import random
from typing import get_args

import msgspec
import pytest

from models.registry import Registry
from streams import counters as rows
from streams import dossiers
from streams.ingest import Ingest, TxRecord
from streams.wire import UNIT_DELTAS, Source, UnitDelta, encode, position
from tests.events import small_cases
from tests.recount import recount

REGISTRY = Registry.load({"17"})


def run(records: list[tuple[bytes | None, bytes]], replay: bool = False) -> rows_t:
    logic = Ingest(REGISTRY, 1)
    txns: dict[str, TxRecord] = {}
    facts = []
    claims = []
    for offset, (key, raw) in enumerate(records):
        source = Source("payments", 0, offset, key)
        event, out = logic.route(raw, source, 0)
        if out is None:
            assert event is not None
            out = logic.on_event(event, raw, source, txns.get(event.transaction_id), 0)
            if out.record is not None:
                txns[event.transaction_id] = out.record
        facts.extend(out.facts)
        claims.extend(out.claims)
        while claims:
            claim = claims.pop(0)
            got = logic.on_claim(claim, txns.get(claim.target), 0)
            if got.record is not None:
                txns[claim.target] = got.record
            facts.extend(got.facts)
    state: dict[str, dossiers.Dossier] = {}
    deltas: list[UnitDelta] = []
    for offset, fact in enumerate(facts * (2 if replay else 1)):
        d, changes = dossiers.apply_fact(state.get(fact.dossier, dossiers.Dossier({})), fact)
        state[fact.dossier] = d
        # facts as if sent three to a message
        deltas += dossiers.unit_deltas(fact, changes, 0, position(offset // 3, offset % 3))
    table: dict[str, rows.Row] = {}
    for delta in deltas * (2 if replay else 1):
        for row_key, row, _ in rows.tally(delta, lambda k: table.get(k, rows.empty())):
            table[row_key] = row
    return {rows.split_key(k): rows.as_dict(r.values) for k, r in table.items() if any(r.values)}


rows_t = dict[tuple[str, str], dict[str, int]]


def test_logic_matches_recount() -> None:
    records = small_cases()
    assert run(records) == recount([v for _, v in records], REGISTRY).counters


def test_logic_replay_changes_nothing() -> None:
    records = small_cases()
    assert run(records, replay=True) == run(records)


def test_dossier_counts_do_not_depend_on_order() -> None:
    records, seen = [], set()
    for key, value in small_cases():  # payments only, one record per transaction id
        if b"payment" in value and key not in seen:
            seen.add(key)
            records.append((key, value))
    expected = run(records)
    for seed in range(5):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert run(shuffled) == expected


def test_a_delta_vector_has_one_entry_per_counter_field() -> None:
    assert len(get_args(rows.Deltas)) == len(rows.FIELDS) == 10
    changes = (("2022-03-04", (1,) * 10),)
    assert UNIT_DELTAS.decode(encode([UnitDelta("u", 0, 1, changes)]))[0].changes == changes
    with pytest.raises(msgspec.ValidationError):
        UNIT_DELTAS.decode(encode([UnitDelta("u", 0, 1, (("2022-03-04", (1,) * 9),))]))  # type: ignore[arg-type]
