"""Quix Streams contender: paywatch's counting job written as a plain Quix Streams app.

Run by bench_stream.py in its own process and virtualenv (bench/quix_env.py: Quix cannot share
paywatch's), on the same pre-filled `payments` topic as the other contenders; it stops by itself
once it has processed all N input records and every message it sent to its own repartition
topics, commits its last checkpoint, reads its counters back from its changelog topic and writes
them, with its timings, to ``--result`` (JSON).

The job, as close as Quix allows (docs/counting-rules.md; paywatch's own stage in brackets):

1. ``payments`` (key = transaction id; values read as bytes): decode and validate each record
   with ``decode_event`` and resolve the unit chain on the event's Vietnam date
   (``Registry.chain``); a record failing either is dropped and counted. Then dedupe in state
   under the transaction id: the first accepted fingerprint stands, an exact re-send or a
   conflicting one is dropped and counted. [ingest]
2. ``group_by`` dossier: each dossier's payments and refunds/cancellations in state. A reversal
   reverses the payment it names, or waits for it; the Decision 766 rule counts the dossier in
   the chain and periods of its earliest live payment. Emits, per unit touched, the change of
   the ten counters of each period (``expand``), to a topic of the app's own keyed by unit.
   [dossier]
3. On that topic, keyed by unit: the ten counters per (unit, period key) in state, summed.
   Quix allows one ``group_by`` per dataframe, so this second re-keying is the ``to_topic`` with
   a key and a second dataframe that ``group_by`` is made of. [tally]

Every stage keeps its state in Quix's RocksDB stores with changelog topics, committed at Quix's
checkpoints (``--commit-interval-s``, Quix's default 5 s), at-least-once or exactly-once. All ten
of paywatch's counters are kept, with the same rules, so they must equal the offline recount.
Under exactly-once a stage sees what the one before it sent only once that checkpoint has
committed (read_committed), so each of the two hops waits up to a commit interval.

What it does not do that the paywatch worker does: no dead-letter topic (bad records, unknown
units and conflicts are only counted; invalid and second reversals just have no effect), no
Redis live view and no Prometheus metrics, no expiry of old transaction ids, no
replay-vs-duplicate accounting and no quarantine of a record that makes the code raise. Its
dedupe is per message key: it trusts the topic's contract that the key is the transaction id.
Stages 1 and 2 ignore a fact they have seen, but stage 3 is a plain sum: under at-least-once a
replay after a crash would count twice there (exactly-once rules that out; the benchmark runs
have no crash).

    .stack/bench-quix-venv/bin/python -m bench.quix_contender --topic T --events N \\
        --guarantee exactly-once --provinces 17 --result /tmp/quix.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from models.event_decode import decode_event
from models.events import EventError, fingerprint
from models.kpi import COUNTER_FIELDS
from models.periods import local_date, period_keys
from models.registry import Registry

FIELDS = COUNTER_FIELDS
_AT = {name: i for i, name in enumerate(FIELDS)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Rows = dict[str, dict[str, list[int]]]  # unit -> period key -> the ten counters (or changes)


class Progress:
    """What each stage has seen and sent, to stop once everything read has been processed."""

    def __init__(self, events: int) -> None:
        self.events = events
        self.read = 0  # input records processed (stage 1)
        self.to_dossier = 0  # facts sent to the dossier repartition topic
        self.at_dossier = 0  # facts processed by stage 2
        self.to_unit = 0  # counter changes sent to the unit-changes topic
        self.at_unit = 0  # counter changes processed by stage 3
        self.dropped: Counter[str] = Counter()
        self.first = 0.0  # wall time of the first record processed
        self.complete = False

    @property
    def settled(self) -> bool:
        return (
            self.read >= self.events
            and self.at_dossier == self.to_dossier
            and self.at_unit == self.to_unit
        )


# -- the job, stage by stage (plain functions of a value and a Quix State) ----------------------


def accept(raw: bytes | None, state: Any, registry: Registry, progress: Progress) -> Any:
    """Stage 1, keyed by transaction id: decode, resolve the chain, dedupe. A fact or None."""
    if not progress.read:
        progress.first = time.time()
    progress.read += 1
    try:
        event = decode_event(raw)
    except EventError as exc:
        progress.dropped[exc.reason] += 1
        return None
    chain = registry.chain(event.unit_code, local_date(event.event_time))
    if not chain:
        progress.dropped["unknown_unit"] += 1
        return None
    digest = fingerprint(event)
    first = state.get(event.transaction_id)
    if first is not None:
        progress.dropped["duplicate" if first == digest else "conflict"] += 1
        return None
    state.set(event.transaction_id, digest)
    progress.to_dossier += 1
    return {
        "tx": event.transaction_id,
        "dossier": event.dossier_code,
        "reverses": event.reverses,  # None for a payment
        "time": (event.event_time - _EPOCH) // _MICROSECOND,
        "chain": list(chain),
        "periods": list(period_keys(event.event_time)),
        "amount": event.amount,
        "online": event.channel.is_online,
    }


# A payment in a dossier's book: [time, tx, chain, periods, amount, online, reversed]
_TIME, _TX, _CHAIN, _PERIODS, _AMOUNT, _ONLINE, _REVERSED = range(7)


def _book(rows: Rows, payment: list[Any], prefix: str) -> None:
    """Count ``payment`` into the ``paid*`` or ``reversed*`` fields of its chain and periods."""
    amount, online = payment[_AMOUNT], payment[_ONLINE]
    count, total = _AT[prefix], _AT[prefix + "_amount"]
    count_online, total_online = _AT[prefix + "_online"], _AT[prefix + "_online_amount"]
    for unit in payment[_CHAIN]:
        by_period = rows.setdefault(unit, {})
        for period in payment[_PERIODS]:
            row = by_period.setdefault(period, [0] * len(FIELDS))
            row[count] += 1
            row[total] += amount
            if online:
                row[count_online] += 1
                row[total_online] += amount


def _dossier(payments: dict[str, list[Any]]) -> tuple[list[str], list[str], bool] | None:
    """Decision 766: where the dossier counts (chain, periods, online), or None."""
    live = [p for p in payments.values() if not p[_REVERSED]]
    if sum(p[_AMOUNT] for p in live) <= 0:
        return None
    first = min(live, key=lambda p: (p[_TIME], p[_TX]))
    online = any(p[_ONLINE] and p[_AMOUNT] > 0 for p in live)
    return first[_CHAIN], first[_PERIODS], online


def _count_dossier(rows: Rows, where: tuple[list[str], list[str], bool], sign: int) -> None:
    chain, periods, online = where
    for unit in chain:
        by_period = rows.setdefault(unit, {})
        for period in periods:
            row = by_period.setdefault(period, [0] * len(FIELDS))
            row[_AT["dossiers"]] += sign
            if online:
                row[_AT["dossiers_online"]] += sign


def settle(fact: dict[str, Any], state: Any, progress: Progress) -> list[dict[str, Any]]:
    """Stage 2, keyed by dossier: apply a payment or reversal to the dossier's book; return
    the counter changes, one message per unit touched."""
    progress.at_dossier += 1
    book = state.get("book") or {"payments": {}, "reversals": [], "waiting": []}
    payments: dict[str, list[Any]] = book["payments"]
    before = _dossier(payments)
    rows: Rows = {}
    tx, target = fact["tx"], fact["reverses"]
    if tx in payments or tx in book["reversals"]:  # the same fact again (a replay)
        return []
    if target is None:  # a payment; reversals may be waiting for it
        waited = tx in book["waiting"]
        payment = [fact["time"], tx, fact["chain"], fact["periods"], fact["amount"]]
        payment += [fact["online"], waited]
        payments[tx] = payment
        _book(rows, payment, "paid")
        if waited:
            book["waiting"] = [w for w in book["waiting"] if w != tx]
            _book(rows, payment, "reversed")
    else:  # a refund or cancellation: of the whole payment it names
        book["reversals"].append(tx)
        if tx in book["waiting"]:  # they named a reversal, not a payment: no effect
            book["waiting"] = [w for w in book["waiting"] if w != tx]
        if target in payments:
            payment = payments[target]
            if not payment[_REVERSED]:  # a second reversal has no effect
                payment[_REVERSED] = True
                _book(rows, payment, "reversed")
        elif target not in book["reversals"]:
            book["waiting"].append(target)
    after = _dossier(payments)
    if after != before:
        if before is not None:
            _count_dossier(rows, before, -1)
        if after is not None:
            _count_dossier(rows, after, +1)
    state.set("book", book)
    changes = []
    for unit, by_period in rows.items():
        kept = {period: row for period, row in by_period.items() if any(row)}
        if kept:
            changes.append({"unit": unit, "rows": kept})
    progress.to_unit += len(changes)
    return changes


def tally(change: dict[str, Any], state: Any, progress: Progress) -> None:
    """Stage 3, keyed by unit: add the changes to the counters of each period."""
    progress.at_unit += 1
    for period, delta in change["rows"].items():
        row = state.get(period)
        if row is not None:
            delta = [x + y for x, y in zip(row, delta, strict=True)]
        state.set(period, delta)


# -- the app ----------------------------------------------------------------------------------


def build(
    app: Any,
    topic: str,
    changes_topic: str,
    partitions: int,
    registry: Registry,
    progress: Progress,
) -> None:
    """Stages 1 and 2 on `payments` (one ``group_by``, by dossier); stage 3 on a topic of the
    app's own that stage 2 writes keyed by unit: Quix allows one ``group_by`` per dataframe
    (``GroupByNestingLimit``), so the second re-keying is a ``to_topic`` and a second dataframe,
    which is what ``group_by`` does underneath."""
    from quixstreams.models import TopicConfig

    payments = app.topic(topic, key_deserializer="bytes", value_deserializer="bytes")
    config = TopicConfig(num_partitions=partitions, replication_factor=1)
    changes = app.topic(changes_topic, key_serializer="str", key_deserializer="str", config=config)
    sdf = app.dataframe(payments)
    sdf = sdf.apply(lambda raw, state: accept(raw, state, registry, progress), stateful=True)
    sdf = sdf.filter(lambda fact: fact is not None)
    sdf = sdf.group_by(lambda fact: fact["dossier"], name="dossier")
    sdf = sdf.apply(lambda fact, state: settle(fact, state, progress), stateful=True, expand=True)
    sdf.to_topic(changes, key=lambda change: change["unit"])
    units = app.dataframe(changes)
    units.update(lambda change, state: tally(change, state, progress), stateful=True)


def counters_topic(bootstrap: str, group: str, changes_topic: str) -> str:
    """The changelog topic of stage 3's store (Quix names it after the group and the topic)."""
    from confluent_kafka.admin import AdminClient

    names = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics
    found = [n for n in names if n.startswith(f"changelog__{group}--") and changes_topic in n]
    if len(found) != 1:
        raise SystemExit(f"quix contender: expected one counters changelog, found {found}")
    return str(found[0])


def read_counters(bootstrap: str, topic: str, timeout_s: float = 300) -> dict[str, list[int]]:
    """Stage 3's state as its changelog holds it (committed records only, last value per key):
    ``"unit|period" -> the ten counters``, all-zero rows left out. Quix writes a state key as
    ``<message key>|<state key>``, each JSON-encoded, and the value as JSON."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}-readback-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
        }
    )
    latest: dict[bytes, bytes | None] = {}
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=30).topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        left = set(partitions)
        deadline_s = time.monotonic() + timeout_s
        while left:
            if time.monotonic() > deadline_s:
                raise SystemExit(f"quix contender: reading {topic} timed out")
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    left.discard(msg.partition())
                    continue
                raise SystemExit(f"quix contender: reading {topic}: {error}")
            key = msg.key()
            assert key is not None
            latest[key] = msg.value()
    finally:
        consumer.close()
    out: dict[str, list[int]] = {}
    for key, value in latest.items():
        if value is None:
            continue
        unit, separator, period = key.partition(b"|")
        row = json.loads(value)
        if separator and any(row):
            out[f"{json.loads(unit)}|{json.loads(period)}"] = row
    return out


def peak_rss_mib() -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--events", type=int, required=True, help="records in the topic")
    parser.add_argument(
        "--guarantee", choices=("at-least-once", "exactly-once"), default="at-least-once"
    )
    parser.add_argument("--provinces", default="17", help="'17', '17,25' or 'all'")
    parser.add_argument("--commit-interval-s", type=float, default=5.0, help="Quix's default")
    parser.add_argument("--partitions", type=int, default=6, help="of the app's own topic")
    parser.add_argument("--group", help="consumer group (default: a fresh one)")
    parser.add_argument("--result", type=Path, required=True, help="write the figures here")
    parser.add_argument("--started-s", type=float, help="wall time the caller started us at")
    parser.add_argument("--log-level", default="WARNING", help="of Quix's own logger")
    parser.add_argument("--idle-timeout-s", type=float, default=120.0, help="give up when idle")
    args = parser.parse_args()
    started_s = args.started_s or time.time()

    from quixstreams import Application

    registry = Registry.load(None if args.provinces == "all" else set(args.provinces.split(",")))
    group = args.group or f"bench-quix-{uuid.uuid4().hex[:8]}"
    progress = Progress(args.events)
    changes_topic = f"{group}.unit-changes"
    state_dir = tempfile.mkdtemp(prefix="paywatch-bench-quix-")
    app: Any = None

    def processed(topic: str, partition: int, offset: int) -> None:
        if not progress.complete and progress.settled:
            progress.complete = True
            app.stop()

    try:
        app = Application(
            broker_address=args.bootstrap,
            consumer_group=group,
            auto_offset_reset="earliest",
            processing_guarantee=args.guarantee,
            commit_interval=args.commit_interval_s,
            state_dir=state_dir,
            loglevel=args.log_level,
            on_message_processed=processed,
        )
        build(app, args.topic, changes_topic, args.partitions, registry, progress)
        app.run(timeout=args.idle_timeout_s)  # stops itself when settled (or idle that long)
        done_s = time.time()  # the last checkpoint is committed and the state closed
        rss = peak_rss_mib()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    if not progress.complete:
        sys.exit(
            f"quix contender: stopped before the end (read {progress.read} of {args.events}, "
            f"dossier {progress.at_dossier}/{progress.to_dossier}, "
            f"unit {progress.at_unit}/{progress.to_unit})"
        )
    topic = counters_topic(args.bootstrap, group, changes_topic)
    counters = read_counters(args.bootstrap, topic)
    result = {
        "guarantee": args.guarantee,
        "group": group,
        "events": progress.read,
        "seconds": done_s - started_s,
        "startup_seconds": progress.first - started_s,
        "dropped": dict(progress.dropped),
        "messages": {"to_dossier": progress.to_dossier, "to_unit": progress.to_unit},
        "peak_rss_mib": rss,
        "changelog": topic,
        "fields": list(FIELDS),
        "counters": counters,
    }
    args.result.write_text(json.dumps(result))
    print(
        f"quix {args.guarantee}: {progress.read:,} events in {done_s - started_s:.1f}s "
        f"({progress.read / (done_s - started_s):,.0f} events/s), {len(counters):,} counter rows"
    )


if __name__ == "__main__":
    main()
