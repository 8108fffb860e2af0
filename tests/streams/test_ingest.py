"""The ingest stage's pure logic (streams/ingest.py): rules 1 to 5 of the counting spec per
transaction id — bad records, duplicates and replays, reversals before and after their payment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from models.events import MAX_WAITING_REVERSALS
from models.registry import Registry
from streams import ingest
from streams.ingest import Ingest, Outcome, TxRecord, partition_for
from streams.wire import Source
from tests.events import OFFLINE, event_bytes, event_record, small_cases
from tests.recount import recount
from tests.streams.stages import ingest_facts


def source(offset: int, partition: int = 0) -> Source:
    return Source("payments", partition, offset, None)


def step(logic: Ingest, raw: bytes, offset: int, current: TxRecord | None) -> Outcome:
    event, out = logic.route(raw, source(offset), 0)
    if out is not None:
        return out
    assert event is not None
    return logic.on_event(event, raw, source(offset), current, 0)


def reversal(tx: str, target: str, dossier: str = "D-p1") -> bytes:
    return event_record(tx, kind="refund", reverses=target, dossier_code=dossier, **OFFLINE)[1]


def test_the_facts_name_each_counted_payment_and_reversal_once(hoa_binh: Registry) -> None:
    records = small_cases()
    facts = ingest_facts(records, hoa_binh)
    years = [
        row
        for (unit, period), row in recount([v for _, v in records], hoa_binh).counters.items()
        if unit == "17" and len(period) == 4  # the province: every payment, once a year
    ]
    assert len({f.tx for f in facts}) == sum(row["paid"] for row in years) == 8
    assert len({f.tx for f in facts if f.reversed}) == sum(row["reversed"] for row in years) == 2


def test_a_bad_record_is_a_dead_letter_naming_its_reason(hoa_binh: Registry) -> None:
    logic = Ingest(hoa_binh, 1)
    assert [d.reason for d in step(logic, b"{not json", 0, None).dead] == ["malformed_json"]
    _, out = logic.route(None, source(1), 0)
    assert out is not None and [d.reason for d in out.dead] == ["unreadable"]
    unknown = step(logic, event_bytes(unit_code="99999"), 2, None)
    assert [d.reason for d in unknown.dead] == ["unknown_unit"]
    assert "99999" in unknown.dead[0].detail and unknown.record is None


def test_a_record_read_away_from_its_home_partition_is_rerouted(hoa_binh: Registry) -> None:
    logic = Ingest(hoa_binh, 6)
    raw = event_bytes(transaction_id="p1")
    home = partition_for("p1", 6)
    away = (home + 1) % 6
    event, out = logic.route(raw, source(5, away), away)
    assert event is None and out is not None
    assert [(p, r.raw) for p, r in out.reroutes] == [(home, raw)]
    event, out = logic.route(raw, source(5, home), home)
    assert out is None and event is not None and event.transaction_id == "p1"


def test_the_same_event_again_is_a_duplicate_or_a_replay_and_another_payload_a_conflict(
    hoa_binh: Registry,
) -> None:
    logic = Ingest(hoa_binh, 1)
    raw = event_record("p1")[1]
    first = step(logic, raw, 0, None)
    assert first.record is not None and len(first.facts) == 1
    assert step(logic, raw, 0, first.record).replayed  # the same offset read again
    again = step(logic, raw, 1, first.record)  # sent twice by the portal
    assert again.duplicate and not again.facts and again.record is None
    conflict = step(logic, event_record("p1", amount=60_000)[1], 2, first.record)
    assert [d.reason for d in conflict.dead] == ["conflict"]


def test_a_reversal_before_its_payment_waits_and_reverses_it_when_it_comes(
    hoa_binh: Registry,
) -> None:
    logic = Ingest(hoa_binh, 1)
    claim = step(logic, reversal("r1", "p1"), 0, None).claims[0]
    waiting = logic.on_claim(claim, None, 0)
    assert waiting.record is not None and waiting.record.fingerprint is None
    assert [w.tx for w in waiting.record.waiting] == ["r1"]
    assert logic.on_claim(claim, waiting.record, 0).record is None  # the same claim again
    paid = step(logic, event_record("p1")[1], 1, waiting.record)
    assert [(f.tx, f.reversed) for f in paid.facts] == [("p1", True)]
    assert paid.record is not None and paid.record.reversed_by == "r1"


def test_a_reversal_after_its_payment_makes_a_reversed_fact_and_a_second_one_is_dead(
    hoa_binh: Registry,
) -> None:
    logic = Ingest(hoa_binh, 1)
    record = step(logic, event_record("p1")[1], 0, None).record
    claim = step(logic, reversal("r1", "p1"), 1, None).claims[0]
    reversed_ = logic.on_claim(claim, record, 0)
    assert [(f.tx, f.reversed) for f in reversed_.facts] == [("p1", True)]
    second = step(logic, reversal("r2", "p1"), 2, None).claims[0]
    assert [d.reason for d in logic.on_claim(second, reversed_.record, 0).dead] == [
        "already_reversed"
    ]
    elsewhere = step(logic, reversal("r3", "p1", dossier="D-other"), 3, None).claims[0]
    assert [d.reason for d in logic.on_claim(elsewhere, reversed_.record, 0).dead] == [
        "invalid_reversal"
    ]


def test_no_more_than_the_limit_of_reversals_wait_for_one_payment(hoa_binh: Registry) -> None:
    logic = Ingest(hoa_binh, 1)
    record = None
    for n in range(MAX_WAITING_REVERSALS):
        claim = step(logic, reversal(f"r{n}", "p1"), n, None).claims[0]
        record = logic.on_claim(claim, record, 0).record
    assert record is not None and len(record.waiting) == MAX_WAITING_REVERSALS
    claim = step(logic, reversal("r-last", "p1"), 99, None).claims[0]
    assert [d.reason for d in logic.on_claim(claim, record, 0).dead] == ["too_many_reversals"]


def test_epoch_microseconds() -> None:
    vietnam = timezone(timedelta(hours=7))
    assert ingest.epoch_us(datetime(1970, 1, 1, 7, tzinfo=vietnam)) == 0
    moment = datetime(2022, 3, 1, 2, 30, 0, 5, tzinfo=UTC)
    assert ingest.epoch_us(moment) == int(moment.timestamp()) * 1_000_000 + 5


def test_a_record_survives_its_storage_form(hoa_binh: Registry) -> None:
    record = step(Ingest(hoa_binh, 1), event_record("p1")[1], 0, None).record
    assert record is not None and ingest.load(ingest.dump(record)) == record
    assert ingest.load(None) is None
