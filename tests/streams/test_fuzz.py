"""Fuzz: no record can stop the counting.

More than 10,000 bad records (``fuzz_records``: Kafka-level, JSON-level, schema-level and
semantic families, drawn by Hypothesis from a fixed seed) are mixed into a simulator stream of
valid events with its usual duplicates and reversals, and read by one real ``paywatch worker``
that is not supervised, so that any exit shows. At the end:

1. the worker never exited (still running; no "exiting (status" line in its log);
2. the dead-letter topic holds every bad record once per source position (a replay may repeat
   a letter, never change its reason), with the recount's reason, and no other record (not a
   valid event, not a reversal that waits); every dead letter describes its source record
   exactly (size, SHA-256, the value whole or its prefix, the key cut to its bound) and fits
   under the broker's limit. Which of two reversals of one payment is ``already_reversed``
   depends on arrival order across partitions: those letters are compared by the payment
   they name;
3. the counters equal the recount's exactly.

A record just over the broker's own limit (``max.message.bytes`` of the topic, read from the
broker) must be refused by the broker itself, and so never reaches the worker.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError

from models.event_decode import decode_event
from models.events import EVENT_ERROR_REASONS, MAX_EVENT_BYTES, EventError
from models.registry import Registry
from streams.deadletter import MAX_DETAIL_CHARS, PREFIX_BYTES
from streams.simulator import SimConfig, generate
from streams.wire import MAX_SOURCE_KEY_BYTES
from tests.recount import Recount, recount
from tests.streams.fuzz_records import Base, FuzzRecord, broker_edge_records, describe, fuzz_records
from tests.streams.stream_harness import (
    Counts,
    Worker,
    assert_counts,
    create_topics,
    diff,
    end_offsets,
    produce_each,
    read_counters,
    read_records,
    topic_config,
)

SEED = 20261129
#: Records drawn per family; with the simulator's own faults, well over 10,000 dead letters.
COUNTS = {"kafka": 1000, "json": 5000, "schema": 5000, "semantic": 2000}
SIMULATED = 4000
STREAM_REASONS = {
    "unknown_unit",
    "conflict",
    "invalid_reversal",
    "already_reversed",
    "too_many_reversals",
    "internal_error",
    "quarantined",
}
#: Reasons that depend on the order in which reversals of one payment arrive.
ORDERED = ("already_reversed", "too_many_reversals", "invalid_reversal")
DEAD_LETTER_FIELDS = {
    "reason",
    "detail",
    "topic",
    "partition",
    "offset",
    "key",
    "value_null",
    "value_b64",
    "value_text",
    "value_size",
    "value_sha256",
    "value_truncated",
}


def _records(registry: Registry) -> tuple[list[FuzzRecord], Base]:
    """The simulator's stream with the fuzz records mixed in at random (fixed seed) places."""
    config = SimConfig(count=SIMULATED, seed=11, start=date(2022, 1, 1), end=date(2022, 6, 30))
    valid = [FuzzRecord("simulator", "stream", r.key, r.value) for r in generate(config, registry)]
    base = Base.of([r.value for r in valid], registry, Registry.load({"01", "25"}))
    fuzz = fuzz_records(base, COUNTS, SEED)
    rng = random.Random(SEED)
    mixed: list[FuzzRecord] = []
    i = j = 0
    while i < len(valid) or j < len(fuzz):
        left_valid, left_fuzz = len(valid) - i, len(fuzz) - j
        if rng.random() * (left_valid + left_fuzz) < left_valid:
            mixed.append(valid[i])
            i += 1
        else:
            mixed.append(fuzz[j])
            j += 1
    return mixed, base


def _target(record: FuzzRecord) -> str:
    """The transaction id a reversal names."""
    return str(decode_event(record.value).reverses)


def _check_input(records: Sequence[FuzzRecord], expected: Recount) -> None:
    """The input is what the test claims: over 10,000 bad fuzz records, and every fuzz record
    that is a valid payment stands alone (its own transaction id), so where it lands among the
    partitions cannot change any outcome."""
    dead = dict(expected.dead_letters)
    bad = sum(1 for i, r in enumerate(records) if r.family != "simulator" and i in dead)
    assert bad >= 10_000, f"only {bad} bad fuzz records"
    uses: Counter[str] = Counter()  # records naming each transaction id, as theirs or reversed
    for record in records:
        try:
            event = decode_event(record.value)
        except EventError:
            continue
        uses[event.transaction_id] += 1
        if event.reverses is not None:
            uses[event.reverses] += 1
    for i, record in enumerate(records):
        if record.family not in ("json", "schema", "kafka") or i in dead:
            continue
        event = decode_event(record.value)
        assert event.reverses is None and uses[event.transaction_id] == 1, describe(record)


def _letter(value: bytes | None) -> dict[str, Any] | None:
    """A dead letter's JSON object, or None when it is not one."""
    try:
        letter = json.loads(value or b"")
    except ValueError:
        return None
    return letter if isinstance(letter, dict) else None


def _dead_letter_problems(
    letters: list[tuple[bytes | None, bytes | None]],
    records: Sequence[FuzzRecord],
    index: dict[tuple[int, int], int],
    expected: Recount,
    payments_topic: str,
    limit: int,
) -> list[str]:
    problems: list[str] = []
    got: dict[int, set[str]] = defaultdict(set)
    shapes: Counter[str] = Counter()
    for key, value in letters:
        size = len(value or b"") + len(key or b"")
        if size >= limit:
            shapes[f"dead letter of {size} bytes, not under the broker's limit {limit}"] += 1
        letter = _letter(value)
        if letter is None:
            shapes["dead letter that is not a JSON object"] += 1
            continue
        missing = DEAD_LETTER_FIELDS - set(letter)
        if missing:
            shapes[f"dead letter without {sorted(missing)}"] += 1
            continue
        reason = letter["reason"]
        if reason not in EVENT_ERROR_REASONS | STREAM_REASONS:
            shapes[f"unknown reason {reason!r}"] += 1
        if len(letter["detail"]) > MAX_DETAIL_CHARS:
            shapes[f"{reason}: detail of {len(letter['detail'])} characters"] += 1
        position = (letter["partition"], letter["offset"])
        if letter["topic"] != payments_topic or position not in index:
            shapes[f"{reason} from {letter['topic']}[{position}]: {letter['detail'][:160]}"] += 1
            continue
        source = records[index[position]]
        got[index[position]].add(reason)
        for problem in _describes(letter, source):
            shapes[f"{source.family}/{source.case}: {problem}"] += 1
    problems += [f"{n} x {shape}" for shape, n in shapes.most_common(40)]

    twice = {i: reasons for i, reasons in got.items() if len(reasons) > 1}
    problems += [
        f"{describe(records[i])}: dead-lettered with several reasons {sorted(r)}"
        for i, r in list(twice.items())[:10]
    ]
    have = {(i, reason) for i, reasons in got.items() for reason in reasons}
    want = set(expected.dead_letters)
    # Which of the reversals naming one transaction is "already_reversed", one too many waiting
    # for it, or (when it is itself a reversal) judged before or after it arrived follows
    # arrival order, and reversals in different partitions have no order a stream can know.
    # What does not depend on order is how many of them each named transaction turns away:
    # those letters are compared by the transaction they name, as many letters each.
    have_targets = Counter(_target(records[i]) for i, r in have if r in ORDERED)
    want_targets = Counter(_target(records[i]) for i, r in want if r in ORDERED)
    if have_targets != want_targets:
        problems.append(
            f"reversal letters: named {sorted((have_targets - want_targets).items())[:5]}"
            f" in excess, {sorted((want_targets - have_targets).items())[:5]} missing"
        )
    should = dict(expected.dead_letters)
    mismatches: dict[str, list[int]] = defaultdict(list)
    for i, reason in sorted(have - want):
        if reason in ORDERED and should.get(i, reason) in ORDERED:
            continue  # another reversal of the same payment: compared by payment above
        record = records[i]
        mismatches[f"{record.family}/{record.case}: {should.get(i, 'none')} -> {reason}"].append(i)
    for i, reason in sorted(want - have):
        if reason in ORDERED and got.get(i, {reason}) <= set(ORDERED):
            continue  # compared by the transaction named, above
        if i not in got:
            record = records[i]
            mismatches[f"{record.family}/{record.case}: {reason} -> none"].append(i)
    for label, items in sorted(mismatches.items(), key=lambda kv: -len(kv[1]))[:40]:
        examples = "; ".join(describe(records[i]) for i in items[:2])
        problems.append(f"{len(items)} x {label} (e.g. {examples})")
    return problems


def _position(value: bytes | None) -> tuple[Any, Any, Any]:
    letter = _letter(value) or {}
    return letter.get("topic"), letter.get("partition"), letter.get("offset")


def _wait_for_counters(worker: Worker, bootstrap: str, app_id: str, expected: Counts) -> Counts:
    """The counters once they equal ``expected`` for 3 s, or when the worker has exited, or
    after 240 s."""
    deadline_s = time.monotonic() + 240
    while time.monotonic() < deadline_s and worker.alive:
        got = read_counters(bootstrap, app_id)
        if got == expected:
            time.sleep(3)
            got = read_counters(bootstrap, app_id)
            if got == expected:
                return got
        time.sleep(1)
    return read_counters(bootstrap, app_id)


def _describes(letter: dict[str, Any], source: FuzzRecord) -> list[str]:
    """How ``letter`` fails to describe its ``source`` record exactly."""
    raw = source.value if source.value is not None else b""
    truncated = len(raw) > MAX_EVENT_BYTES
    kept = raw[:PREFIX_BYTES] if truncated else raw
    out = []
    if letter["value_null"] is not (source.value is None):
        out.append(f"value_null {letter['value_null']}")
    if letter["value_size"] != len(raw):
        out.append("value_size wrong")
    if letter["value_sha256"] != hashlib.sha256(raw).hexdigest():
        out.append("value_sha256 wrong")
    if letter["value_truncated"] is not truncated:
        out.append(f"value_truncated {letter['value_truncated']} for {len(raw)} bytes")
    if base64.b64decode(letter["value_b64"]) != kept:
        out.append(f"value_b64 is not the value {'prefix' if truncated else 'itself'}")
    if source.key is None:
        if letter["key"] is not None:
            out.append("key set for a record without one")
    elif (
        letter["key"] is None
        or base64.b64decode(letter["key"]) != source.key[:MAX_SOURCE_KEY_BYTES]
    ):
        out.append("key is not the source key (cut to MAX_SOURCE_KEY_BYTES)")
    elif letter["key_size"] != len(source.key):
        out.append(f"key_size {letter['key_size']} for a key of {len(source.key)} bytes")
    elif letter["key_truncated"] is not (len(source.key) > MAX_SOURCE_KEY_BYTES):
        out.append(f"key_truncated {letter['key_truncated']} for {len(source.key)} bytes")
    return out


@pytest.mark.timeout(600)
def test_no_record_stops_the_counting(
    settings_factory: Callable[..., Any], kafka_bootstrap: str, tmp_path: Path, hoa_binh: Registry
) -> None:
    began_s = time.monotonic()
    records, base = _records(hoa_binh)
    # No purge of transaction records during the run: the recount has no retention, and valid
    # fuzz events may lie years apart (the hoa_binh's own span is 5.5 years).
    settings = settings_factory(dedup_retention_days=3650)
    create_topics(settings)
    topic = settings.topic("payments")
    limit = int(topic_config(kafka_bootstrap, topic)["max.message.bytes"])
    edges = broker_edge_records(limit, base)
    middle = len(records) // 2
    records[middle:middle] = edges

    results = produce_each(
        kafka_bootstrap, topic, [(r.key, r.value, r.headers, r.timestamp_ms) for r in records]
    )
    outcomes = list(zip(records, results, strict=True))
    refused = [(r, res) for r, res in outcomes if isinstance(res, Exception)]
    assert [r.case for r, _ in refused] == ["over_broker_limit"], [
        (describe(r), e) for r, e in refused
    ]
    error = refused[0][1]
    # the broker's refusal: the client's own bound (max_request_size, 4 MiB) says otherwise
    assert isinstance(error, MessageSizeTooLargeError) and "max_request_size" not in str(error)
    accepted = [(r, res) for r, res in outcomes if isinstance(res, tuple)]
    assert sum(end_offsets(kafka_bootstrap, topic).values()) == len(accepted), (
        "the topic holds other records than those the broker acknowledged"
    )
    sent = [r for r, _ in accepted]
    index = {position: i for i, (_, position) in enumerate(accepted)}
    expected = recount([r.value for r in sent], hoa_binh)
    _check_input(sent, expected)
    produced_s = time.monotonic()
    print(
        f"{len(sent)} records ({len(expected.dead_letters)} dead letters, {len(expected.waiting)}"
        f" waiting reversals, {expected.duplicates} duplicates) made and sent in "
        f"{produced_s - began_s:.1f}s; broker limit {limit} bytes"
    )

    log = tmp_path / "worker.log"
    worker = Worker(settings, log).start()
    try:
        got = _wait_for_counters(worker, kafka_bootstrap, settings.app_id, expected.counters)
        counted_s = time.monotonic()
        # every bad record's letter (one per source position; replays may repeat one)
        deadline_s = counted_s + 60
        while True:
            letters = read_records(kafka_bootstrap, settings.topic("payments-dlq"))
            positions = {_position(value) for _, value in letters}
            if len(positions) >= len(expected.dead_letters) or not worker.alive:
                break
            if time.monotonic() > deadline_s:
                break
            time.sleep(2)
        time.sleep(2)
        letters = read_records(kafka_bootstrap, settings.topic("payments-dlq"))
        alive = worker.alive
        status = None if worker.proc is None else worker.proc.poll()
    finally:
        worker.stop()
    print(
        f"worker: counters after {counted_s - produced_s:.1f}s, dead letters after "
        f"{time.monotonic() - produced_s:.1f}s; {len(letters)} dead letters read"
    )
    problems = _dead_letter_problems(letters, sent, index, expected, topic, limit)
    wrong_rows = diff(expected.counters, got, limit=20)
    text = log.read_text(errors="replace")
    exits = [line for line in text.splitlines() if "exiting (status" in line.lower()]
    errors = [line for line in text.splitlines() if "[ERROR]" in line or "[CRITICAL]" in line]
    assert alive and not exits, (
        f"the worker exited (status {status}): {exits[:3]}\n"
        f"its errors: {errors[:10]}\n"
        f"then {len(problems)} dead-letter problems, {len(wrong_rows)} counter rows wrong"
    )
    assert not problems, "dead letters differ from the recount:\n" + "\n".join(problems)
    assert_counts(got, expected.counters, log)
