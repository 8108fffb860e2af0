"""The three stages' pure logic chained in memory (no broker), as the worker chains them:
ingest (streams/ingest.py) → dossiers (streams/dossiers.py) → counters (streams/counters.py).
The stage tests feed one stage with what the one before it made."""

from __future__ import annotations

from models.registry import Registry
from streams import counters, dossiers
from streams.ingest import Ingest, TxRecord
from streams.wire import Fact, Source, UnitDelta

#: (unit, period) → the counters of that row (rows with only zeros left out)
Rows = dict[tuple[str, str], dict[str, int]]


def ingest_facts(records: list[tuple[bytes | None, bytes]], registry: Registry) -> list[Fact]:
    """The facts the ingest stage makes of ``records`` read in order from one partition."""
    logic = Ingest(registry, 1)
    txns: dict[str, TxRecord] = {}
    facts: list[Fact] = []
    for offset, (key, raw) in enumerate(records):
        source = Source("payments", 0, offset, key)
        event, out = logic.route(raw, source, 0)
        if out is None:
            assert event is not None
            out = logic.on_event(event, raw, source, txns.get(event.transaction_id), 0)
            if out.record is not None:
                txns[event.transaction_id] = out.record
        facts.extend(out.facts)
        claims = list(out.claims)
        while claims:
            claim = claims.pop(0)
            got = logic.on_claim(claim, txns.get(claim.target), 0)
            if got.record is not None:
                txns[claim.target] = got.record
            facts.extend(got.facts)
    return facts


def dossier_deltas(facts: list[Fact], per_message: int = 3) -> list[UnitDelta]:
    """The unit deltas the dossier stage makes of ``facts``, as if sent ``per_message`` to a
    message (one delta per unit a message)."""
    state: dict[str, dossiers.Dossier] = {}
    deltas: list[UnitDelta] = []
    for offset, start in enumerate(range(0, len(facts), per_message)):
        merged = dossiers.MessageDeltas()
        for fact in facts[start : start + per_message]:
            known = state.get(fact.dossier, dossiers.Dossier({}))
            state[fact.dossier], changes = dossiers.apply_fact(known, fact)
            merged.add(fact, changes)
        deltas += merged.deltas(0, offset)
    return deltas


def tally_rows(deltas: list[UnitDelta]) -> Rows:
    """The counter rows the tally stage makes of ``deltas``."""
    table: dict[str, counters.Row] = {}
    for delta in deltas:
        counters.tally(delta, lambda k: counters.empty(), table)
    return {
        counters.split_key(k): counters.as_dict(r.values) for k, r in table.items() if any(r.values)
    }


def chained(records: list[tuple[bytes | None, bytes]], registry: Registry) -> Rows:
    """The counter rows of ``records`` through all three stages."""
    return tally_rows(dossier_deltas(ingest_facts(records, registry)))
