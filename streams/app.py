"""The paywatch Faust app: one app object, its topics, tables and three agents.

Data flow (see .notes/readme-streams.md):

    payments ─┐                      (key = transaction id)
    payments-by-tx ─┴─► ingest ──► payments-by-dossier ──► dossier ──► unit-deltas ──► tally
              ▲          │  │        (key = dossier code)             (key = unit code)
              └─claims───┘  └─► payments-dlq

Every agent works in steps of up to ``settings.batch_size`` events. A step computes its
outputs from the table state, sends them and waits for the broker's acks, and only then writes
its table changes. So stored state never runs ahead of the outputs it implies: a crash replays
a step, and a replayed step re-sends identical messages that the next stage recognises
(ingest by transaction id, dossier by transaction id, tally by per-row source offset marks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import traceback
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import faust
import msgspec
from aiokafka import TopicPartition as KafkaTP
from faust.streams import _current_event as _CURRENT_EVENT
from faust.types import EventT, StreamT

from models.registry import Registry
from streams import counters as rows
from streams import dossiers, ingest
from streams.deadletter import dead_letter_key, encode_dead_letter
from streams.hooks import Listeners, Stats
from streams.ingest import DeadLetter, Ingest, Outcome, TxRecord
from streams.membership import group_options
from streams.quarantine import FailedSteps, Position, StoreError, is_transient
from streams.settings import Settings
from streams.wire import (
    BY_TX,
    FACTS,
    UNIT_DELTAS,
    Claim,
    Fact,
    Source,
    UnitDelta,
    encode,
    position,
)

log = logging.getLogger(__name__)

#: Every topic the pipeline reads or writes (before the prefix); the worker creates them all
#: with ``settings.partitions`` partitions before it starts, so they are co-partitioned.
TOPICS = ("payments", "payments-dlq", "payments-by-tx", "payments-by-dossier", "unit-deltas")
#: The tables; the worker creates their (compacted) changelog topics before it starts.
TABLES = ("txns", "dossiers", "counters")
#: Exit status of a worker whose step failed (EX_SOFTWARE): see :func:`_step`.
EXIT_STEP_FAILED = 70
#: RocksDB memory per table partition (a worker opens up to 3 tables x PAYWATCH_PARTITIONS,
#: standbys included). Faust's defaults give each one its own 2 GiB block cache and three 64 MiB
#: write buffers, which is what a worker's memory grew into; these bound a worker near 0.5 GiB.
ROCKSDB: dict[str, Any] = {
    "write_buffer_size": 8 * 2**20,
    "max_write_buffer_number": 2,
    "target_file_size_base": 16 * 2**20,
    "block_cache_size": 8 * 2**20,
    "block_cache_compressed_size": 2 * 2**20,
}
#: Facts or unit deltas per message on the internal topics (see :func:`_chunks`).
ITEMS_PER_MESSAGE = 500
T = TypeVar("T")
#: One step of an agent: its stream and the events of the step.
Step = Callable[[StreamT[bytes], list[EventT[bytes]]], Awaitable[None]]
RAW: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
BYTES: dict[str, Any] = {"key_type": bytes, "value_type": bytes, **RAW}


class Pipeline:
    """The app and everything declared on it, built from settings."""

    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        self.settings = settings
        self.registry = registry or Registry.load(settings.province_codes)
        self.logic = Ingest(self.registry, settings.partitions)
        self.stats = Stats()
        self.listeners = Listeners()
        self.failed_steps = FailedSteps(
            settings.data_dir / "failed-steps.json", settings.crash_loop_limit
        )
        self._horizon: dict[int, int] = {}
        self._purged: dict[int, int] = {}
        n = settings.partitions
        self.app = app = faust.App(
            settings.app_id,
            broker=settings.broker,
            store=settings.store,
            datadir=str(settings.data_dir),
            processing_guarantee=settings.processing_guarantee,
            topic_partitions=n,
            topic_replication_factor=1,
            table_standby_replicas=settings.standby_replicas,
            web_host=settings.web_host,
            web_port=settings.web_port,
            web_bind=settings.web_host,
            stream_buffer_maxsize=max(4096, settings.batch_size * 2),
            autodiscover=False,
            **group_options(settings),
            **RAW,
        )
        topic = settings.topic
        self.payments_name = topic("payments")
        self.source = app.topic(self.payments_name, topic("payments-by-tx"), partitions=n, **BYTES)
        self.by_tx = app.topic(topic("payments-by-tx"), partitions=n, internal=True, **BYTES)
        self.by_dossier = app.topic(
            topic("payments-by-dossier"), partitions=n, internal=True, **BYTES
        )
        self.unit_deltas = app.topic(topic("unit-deltas"), partitions=n, internal=True, **BYTES)
        self.dlq = app.topic(topic("payments-dlq"), partitions=n, **BYTES)
        self.txns, self.dossiers, self.counters = (
            app.Table(name, partitions=n, key_type=bytes, value_type=bytes, options=ROCKSDB)
            for name in TABLES
        )
        self._next_offset: dict[Any, int] = {}
        self._install_seek(app.consumer, {settings.topic(t) for t in TOPICS})
        app.agent(self.source, name="ingest")(self._ingest)
        app.agent(self.by_dossier, name="dossier")(self._dossier)
        app.agent(self.unit_deltas, name="tally")(self._tally)
        self._add_views()

    # -- agents ------------------------------------------------------------------------------

    async def _steps(self, stream: StreamT[bytes]) -> AsyncIterator[list[EventT[bytes]]]:
        within = self.settings.batch_within
        take = stream.take_events  # type: ignore[attr-defined]  # missing from StreamT
        async for events in take(self.settings.batch_size, within=within):
            yield list(events)

    async def _ingest(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for events in self._steps(stream):
            await self._run("ingest", stream, events, self._ingest_step)
            yield None

    async def _dossier(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for events in self._steps(stream):
            await self._run("dossier", stream, events, self._dossier_step)
            yield None

    async def _tally(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for events in self._steps(stream):
            await self._run("tally", stream, events, self._tally_step)
            yield None

    async def _run(
        self, agent: str, stream: StreamT[bytes], events: list[EventT[bytes]], step: Step
    ) -> None:
        """One step of ``agent``: as a whole, or record by record when it replays a step that
        failed ``crash_loop_limit`` times in a row (see :mod:`streams.quarantine`)."""
        watched = self.failed_steps.watching(agent)
        if watched and self.failed_steps.suspect(agent, _positions(events)):
            await self._quarantine(agent, stream, events, step)
        else:
            with _step(agent, self.failed_steps, events):
                await step(stream, events)
        if watched:
            self.failed_steps.passed(agent, _positions(events))

    async def _quarantine(
        self, agent: str, stream: StreamT[bytes], events: list[EventT[bytes]], step: Step
    ) -> None:
        log.error(
            "agent %s: steps over these records failed %d times; replaying its %d records one "
            "at a time",
            agent,
            self.failed_steps.failures(agent),
            len(events),
        )
        for event in events:
            with _step(agent, self.failed_steps, [event]):
                try:
                    await step(stream, [event])
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    msg = event.message
                    log.error(
                        "agent %s: the record at %s[%d]@%d fails its step alone (%s); "
                        "sent to the dead letters as quarantined",
                        agent,
                        msg.topic,
                        msg.partition,
                        msg.offset,
                        type(exc).__name__,
                    )
                    self.stats.quarantined[agent] += 1
                    dead = _dead(event, "quarantined", f"{agent} step: {_explain(exc)}")
                    await _all([await self._send_dead(dead)])

    async def _send_dead(self, dead: DeadLetter) -> Awaitable[Any]:
        self.stats.dead_letters[dead.reason] += 1
        return await self.dlq.send(key=dead_letter_key(dead), value=encode_dead_letter(dead))

    async def _ingest_step(self, stream: StreamT[bytes], events: list[EventT[bytes]]) -> None:
        overlay: dict[str, tuple[EventT[bytes], TxRecord]] = {}
        out = Outcome()
        for event in events:
            _enter(stream, event)
            try:
                outcome, key = self._ingest_one(event, overlay)
            except Exception as exc:
                if is_transient(exc):
                    raise
                out.dead.append(self._failed(event, "ingest", exc))
                continue
            if key is not None:
                # An unchanged record is written again: after a crash the local store can be
                # ahead of the changelog, and the replayed step must bring the changelog level.
                record = outcome.record
                if record is None:
                    record = self._record(key, overlay)
                if record is not None:
                    overlay[key] = (event, record)
            self._collect(outcome, out)
        await self._send_outcome(out)
        for key, (event, record) in overlay.items():
            _enter(stream, event)
            _store(self.txns, key, ingest.dump(record))
        self._maybe_purge(stream, events)

    def _ingest_one(
        self, event: EventT[bytes], overlay: dict[str, tuple[EventT[bytes], TxRecord]]
    ) -> tuple[Outcome, str | None]:
        msg = event.message
        partition = msg.partition
        raw: bytes | None = event.value
        source = Source(msg.topic, partition, msg.offset, msg.key)
        if msg.topic != self.payments_name:
            envelope = BY_TX.decode(raw or b"")
            if isinstance(envelope, Claim):
                current = self._record(envelope.target, overlay)
                if current is not None:  # on_claim changes it in place
                    current = msgspec.structs.replace(current)
                return self.logic.on_claim(envelope, current, partition), envelope.target
            raw, source = envelope.raw, envelope.source
        else:
            self.stats.events += 1
        decoded, early = self.logic.route(raw, source, partition)
        if early is not None:
            return early, None
        assert decoded is not None and raw is not None
        key = decoded.transaction_id
        current = self._record(key, overlay)
        outcome = self.logic.on_event(decoded, raw, source, current, partition)
        if msg.topic == self.payments_name:  # its record time is the payment's own
            produced = round(msg.timestamp * 1000)  # Faust gives seconds; the wire carries ms
            outcome.facts = [msgspec.structs.replace(f, produced=produced) for f in outcome.facts]
        if outcome.record is not None:
            seen = outcome.record.seen
            self._horizon[partition] = max(self._horizon.get(partition, seen), seen)
        return outcome, key

    def _record(
        self, key: str, overlay: dict[str, tuple[EventT[bytes], TxRecord]]
    ) -> TxRecord | None:
        held = overlay.get(key)
        if held is not None:
            return held[1]
        return ingest.load(_load(self.txns, key))

    def _failed(self, event: EventT[bytes], stage: str, exc: Exception) -> DeadLetter:
        """The dead letter of a record that made ``stage`` raise ``exc``."""
        msg = event.message
        log.error(
            "%s stage: the record at %s[%d]@%d raised %s; sent to the dead letters",
            stage,
            msg.topic,
            msg.partition,
            msg.offset,
            type(exc).__name__,
        )
        if isinstance(exc, msgspec.DecodeError):
            return _dead(event, "unreadable", f"{stage} stage cannot decode it: {_explain(exc)}")
        return _dead(event, "internal_error", f"{stage} stage: {_explain(exc)}")

    def _collect(self, outcome: Outcome, out: Outcome) -> None:
        """Add what one record's ``outcome`` asks to send to the step's ``out``."""
        if outcome.duplicate:
            self.stats.duplicates += 1
        if outcome.replayed:
            self.stats.replayed += 1
        out.facts += outcome.facts
        out.claims += outcome.claims
        out.reroutes += outcome.reroutes
        out.dead += outcome.dead

    async def _send_outcome(self, out: Outcome) -> None:
        """Send what a step's records ask for and wait for the broker's acks; facts go as one
        message per target partition (see :func:`_chunks`)."""
        n = self.settings.partitions
        acks: list[Awaitable[Any]] = []
        facts: dict[int, list[Fact]] = {}
        for fact in out.facts:
            self.stats.facts += 1
            facts.setdefault(ingest.partition_for(fact.dossier, n), []).append(fact)
        for claim in out.claims:
            home = ingest.partition_for(claim.target, n)
            sent = await self.by_tx.send(key=claim.target, value=encode(claim), partition=home)
            acks.append(sent)
        for home, reroute in out.reroutes:
            acks.append(await self.by_tx.send(value=encode(reroute), partition=home))
        for dead in out.dead:
            acks.append(await self._send_dead(dead))
        for part, items in facts.items():
            for chunk in _chunks(items):
                acks.append(await self.by_dossier.send(value=encode(chunk), partition=part))
        await _all(acks)

    def _maybe_purge(self, stream: StreamT[bytes], events: list[EventT[bytes]]) -> None:
        """Forget transaction records older than the retention, counted in event-date days
        behind the newest event date seen in the same partition (README, Deduplication
        retention)."""
        retention = self.settings.dedup_retention_days
        step = max(1, retention // 2)  # each purge reads the partition's whole table
        last: dict[int, EventT[bytes]] = {e.message.partition: e for e in events}
        for partition, event in last.items():
            horizon = self._horizon.get(partition)
            if horizon is None:
                continue
            purged = self._purged.setdefault(partition, horizon)
            if horizon - purged < step:
                continue
            self._purged[partition] = horizon
            cutoff = horizon - retention
            _enter(stream, event)
            stale = []
            for key, value in self.txns.items():
                try:
                    record = ingest.load(value)
                except msgspec.DecodeError:
                    continue  # not ours to judge here; a record's own event dead-letters it
                if record is not None and record.partition == partition and record.seen < cutoff:
                    stale.append(key)
            for key in stale:
                del self.txns[key]
            log.info("purged %d transaction records in partition %d", len(stale), partition)

    async def _dossier_step(self, stream: StreamT[bytes], events: list[EventT[bytes]]) -> None:
        overlay: dict[str, tuple[EventT[bytes], dossiers.Dossier]] = {}
        deltas: dict[int, list[UnitDelta]] = {}
        dead: list[DeadLetter] = []
        n = self.settings.partitions
        for event in events:
            _enter(stream, event)
            msg = event.message
            try:
                facts = FACTS.decode(event.value or b"")
            except Exception as exc:
                if is_transient(exc):
                    raise
                dead.append(self._failed(event, "dossier", exc))
                continue
            for index, fact in enumerate(facts):
                try:
                    state, made = self._dossier_one(fact, position(msg.offset, index), msg, overlay)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    dead.append(self._failed_item(event, index, encode([fact]), "dossier", exc))
                    continue
                overlay[fact.dossier] = (event, state)  # written even when unchanged (see ingest)
                for delta in made:
                    deltas.setdefault(ingest.partition_for(delta.unit, n), []).append(delta)
        acks = [await self._send_dead(letter) for letter in dead]
        for part, batch in deltas.items():
            for chunk in _chunks(batch):
                acks.append(await self.unit_deltas.send(value=encode(chunk), partition=part))
        await _all(acks)
        for key, (event, state) in overlay.items():
            _enter(stream, event)
            _store(self.dossiers, key, dossiers.dump(state))

    def _dossier_one(
        self,
        fact: Fact,
        seq: int,
        msg: Any,
        overlay: dict[str, tuple[EventT[bytes], dossiers.Dossier]],
    ) -> tuple[dossiers.Dossier, list[UnitDelta]]:
        """The dossier with ``fact`` (at position ``seq`` of ``msg``'s partition) applied, and
        the unit deltas it makes."""
        held = overlay.get(fact.dossier)
        state = held[1] if held else dossiers.load(_load(self.dossiers, fact.dossier))
        state, changes = dossiers.apply_fact(state, fact)
        made = []
        timed = fact.produced  # the first delta carries the payment's times
        for unit, items in changes.items():
            merged = dossiers.merged(items)
            if merged:
                made.append(UnitDelta(unit, msg.partition, seq, merged, fact.ts, timed))
                timed = 0
        return state, made

    def _failed_item(
        self, event: EventT[bytes], index: int, raw: bytes, stage: str, exc: Exception
    ) -> DeadLetter:
        """The dead letter of item ``index`` of an internal message (``raw``: that item alone)."""
        letter = self._failed(event, stage, exc)
        detail = f"item {index} of the message: {letter.detail}"
        return DeadLetter(letter.reason, detail, raw, letter.source)

    async def _tally_step(self, stream: StreamT[bytes], events: list[EventT[bytes]]) -> None:
        overlay: dict[str, tuple[EventT[bytes], rows.Row]] = {}
        timed: list[UnitDelta] = []
        dead: list[DeadLetter] = []
        for event in await self._in_order(events):
            _enter(stream, event)
            try:
                deltas = UNIT_DELTAS.decode(event.value or b"")
            except Exception as exc:
                if is_transient(exc):
                    raise
                dead.append(self._failed(event, "tally", exc))
                continue
            for index, delta in enumerate(deltas):
                try:
                    staged = self._tally_one(delta, overlay)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    dead.append(self._failed_item(event, index, encode([delta]), "tally", exc))
                    continue
                applied = False
                for key, row, changed in staged:
                    overlay[key] = (event, row)  # a replayed row is written again (see ingest)
                    applied = applied or changed
                    if changed:
                        self.stats.deltas_applied += 1
                    else:
                        self.stats.deltas_replayed += 1
                if applied and delta.produced:
                    timed.append(delta)
        await _all([await self._send_dead(letter) for letter in dead])
        for key, (event, row) in overlay.items():
            _enter(stream, event)
            _store(self.counters, key, rows.dump(row))
        for delta in timed:
            self.stats.counted(delta.ts / 1e6, delta.produced / 1e3)
        for key, (_, row) in overlay.items():
            unit, period = rows.split_key(key)
            self.listeners.notify(unit, period, rows.as_counters(row.values))

    def _tally_one(
        self, delta: UnitDelta, overlay: dict[str, tuple[EventT[bytes], rows.Row]]
    ) -> list[tuple[str, rows.Row, bool]]:
        """The rows ``delta`` makes, all or none: (key, row, whether the delta changed it)."""
        by_period: dict[str, list[tuple[int, int]]] = {}
        for period, index, amount in delta.changes:
            by_period.setdefault(period, []).append((index, amount))
        staged = []
        for period, changes in by_period.items():
            key = rows.row_key(delta.unit, period)
            held = overlay.get(key)
            row = held[1] if held else rows.load(_load(self.counters, key))
            new = rows.applied(row, delta.sp, delta.seq, changes)
            staged.append((key, row, False) if new is None else (key, new, True))
        return staged

    # -- offsets -----------------------------------------------------------------------------

    def _install_seek(self, consumer: Any, topics: set[str]) -> None:
        """Wrap the consumer's seek after a rebalance, for two of Faust's rebalance behaviours.

        1. Faust seeks each partition to its committed offset, but aiokafka skips partitions
           whose committed offset is missing or 0 and leaves them where its fetcher was, past
           events fetched before the rebalance and dropped by it. Those partitions go back to
           the beginning instead (replaying is harmless).
        2. Events fetched before that seek are still delivered after it, ahead of the replay.
           The tally's idempotence marks need each unit-deltas partition without gaps, so the
           position each partition really starts from is remembered (see :meth:`_in_order`)."""
        committed_seek = consumer.perform_seek
        unit_deltas = self.unit_deltas.get_topic_name()

        async def perform_seek() -> None:
            await committed_seek()
            assigned = [tp for tp in consumer.assignment() if tp.topic in topics]
            unset = [tp for tp in assigned if not consumer._committed_offset.get(tp)]
            if unset:
                log.info("%d partitions without a committed offset: from the start", len(unset))
                await consumer._thread.seek_to_beginning(*(KafkaTP(*tp) for tp in unset))
                for tp in unset:
                    consumer._read_offset[tp] = None
            for tp in assigned:
                if tp.topic == unit_deltas:
                    # Where the fetcher really starts now (its committed offset, or where the
                    # seek above put it), not what Faust believes was committed.
                    position = await consumer._thread.position(KafkaTP(tp.topic, tp.partition))
                    self._next_offset[tp] = position

        consumer.perform_seek = perform_seek

    async def _in_order(self, events: list[EventT[bytes]]) -> list[EventT[bytes]]:
        """The events that continue their partition without a gap; a replay (an offset already
        passed) is kept, the marks drop its deltas. An event past a gap (fetched before a
        rebalance's seek and delivered ahead of the replay) is dropped without being
        acknowledged, and the partition is sought back to the gap, so the missing events and
        then the dropped one come again."""
        kept = []
        rewind: dict[Any, int] = {}
        consumer: Any = self.app.consumer
        for event in events:
            msg = event.message
            expected = self._next_offset.get(msg.tp, msg.offset)
            if msg.offset <= expected:
                kept.append(event)
                self._next_offset[msg.tp] = max(expected, msg.offset + 1)
            else:
                self.stats.out_of_order += 1
                rewind.setdefault(msg.tp, expected)
                # Never acknowledged, so no commit passes its offset before the copy that the
                # seek below brings again has been counted (take_events acks every event it
                # handed out, dropped ones too).
                msg.acked = True
                consumer._unacked_messages.discard(msg)
        for tp, offset in rewind.items():
            log.info("%s: offset %d missing before later ones; reading again from it", tp, offset)
            # Faust took the skipped offsets for a gap in the log, which counts as acknowledged
            # when it commits; they come again now, so only their own acks may commit them.
            gap = consumer._gap.get(tp)
            if gap:
                gap.chop(offset, 2**63)
            await consumer.seek(tp, offset)
        return kept

    # -- reading -----------------------------------------------------------------------------

    def local_counters(self) -> dict[str, dict[str, int]]:
        """This worker's counter rows (its active partitions), "unit|period" -> fields."""
        out = {}
        for key, value in self.counters.items():
            name = key.decode() if isinstance(key, bytes) else str(key)
            out[name] = rows.as_dict(rows.load(value).values)
        return out

    def _add_views(self) -> None:
        pipeline = self

        async def counters(view: Any, request: Any) -> Any:
            """This worker's counters as JSON: {"unit|period": {field: value}}."""
            return view.json(pipeline.local_counters())

        async def stats(view: Any, request: Any) -> Any:
            """This process's simple counts (events, duplicates, dead letters by reason)."""
            return view.json(pipeline.stats.as_dict())

        self.app.page("/counters/")(counters)
        self.app.page("/stats/")(stats)


def _enter(stream: StreamT[bytes], event: EventT[bytes]) -> None:
    """Make ``event`` the current event of this task, so table reads and writes use its
    partition. Only the context variable is set: ``Stream._set_current_event`` would also set
    ``stream.current_event``, which ``take_events``'s background buffer reads to know which
    event it is adding, and so would make it drop one event and repeat another."""
    _CURRENT_EVENT.set(weakref.ref(event))


async def _all(acks: list[Awaitable[Any]]) -> None:
    if acks:
        await asyncio.gather(*acks)


def _chunks(items: list[T]) -> Iterator[list[T]]:
    """``items`` in lists small enough for one Kafka message (a fact or a delta encodes to a
    few hundred bytes; the broker's default limit is 1 MiB)."""
    for start in range(0, len(items), ITEMS_PER_MESSAGE):
        yield items[start : start + ITEMS_PER_MESSAGE]


def _positions(events: list[EventT[bytes]]) -> list[Position]:
    return [(e.message.topic, e.message.partition, e.message.offset) for e in events]


def _dead(event: EventT[bytes], reason: str, detail: str) -> DeadLetter:
    msg = event.message
    return DeadLetter(
        reason, detail, event.value, Source(msg.topic, msg.partition, msg.offset, msg.key)
    )


def _explain(exc: BaseException) -> str:
    """``exc`` as a bounded line for a dead letter's detail (never for a log line: the message
    of an exception can quote the record)."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:299] + "…"


def _traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` for the log. The message of a fault caused by a record is left
    out (it can quote the record, and logs carry nothing personal); a transient fault's is
    kept (it names the broker or the disk)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    message = str(exc) if is_transient(exc) else "(message withheld: it may quote a record)"
    return f"Traceback (most recent call last):\n{frames}{type(exc).__name__}: {message}"


def _load(table: Any, key: str) -> bytes | None:
    try:
        value: bytes | None = table.get(key.encode())
    except Exception as exc:
        raise StoreError(f"reading table {table.name}") from exc
    return value


def _store(table: Any, key: str, value: bytes) -> None:
    try:
        table[key.encode()] = value
    except Exception as exc:
        raise StoreError(f"writing table {table.name}") from exc


@contextlib.contextmanager
def _step(agent: str, failed: FailedSteps, events: list[EventT[bytes]]) -> Iterator[None]:
    """Exit the process at once when a step fails.

    Faust restarts a crashed agent, and ``take_events`` acknowledges the crashed step's events
    on the way out, so their offsets would be committed unprocessed: counts lost without a
    trace. Exiting here commits nothing; the supervisor (systemd, compose, a test) starts the
    worker again and the step is replayed from the last commit, which the idempotent stages
    make harmless. The failure is written down first, for the crash-loop guard."""
    try:
        yield
    except Exception as exc:
        failures = failed.failed(agent, _positions(events))
        log.critical(
            "agent %s failed in the middle of a step (failure %d of its unfinished records; at "
            "%d they are replayed one at a time); exiting (status %d) without committing it so "
            "that it is replayed on restart\n%s",
            agent,
            failures,
            failed.limit,
            EXIT_STEP_FAILED,
            _traceback(exc),
        )
        logging.shutdown()
        os._exit(EXIT_STEP_FAILED)
