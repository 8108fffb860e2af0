"""The paywatch Faust app: one app object, its topics, tables and three agents.

Data flow:

    payments ─┐                      (key = transaction id)
    payments-bulk ──┤                (many events a message, from `paywatch replay`)
    payments-by-tx ─┴─► ingest ──► payments-by-dossier ──► dossier ──► unit-deltas ──► tally
              ▲          │  │        (key = dossier code)             (key = unit code)
              └─claims───┘  └─► payments-dlq

Every agent works in steps of up to ``settings.batch_size`` events. A step reads its state
through its agent's :class:`~streams.checkpoint.Checkpoint`, computes and sends its outputs,
and leaves its changed rows and its events with the checkpoint, which makes them durable in a
fixed order (outputs acknowledged, then each changed row written once, then the events
released for Faust's commit; see :mod:`streams.checkpoint`). A crash replays the events since
the last checkpoint, and a replayed step re-sends identical messages that the next stage
recognises (ingest by transaction id, dossier by transaction id, tally by per-row source
offset marks).

Whatever one record makes a step raise sends that record to the dead letters; a fault outside
any record ends the process (see :func:`_step` and :mod:`streams.quarantine`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, TypeVar

import faust
import msgspec
from faust.types import EventT, StreamT

from models.registry import Registry
from streams import counters as rows
from streams import dossiers, health, ingest, seam
from streams.checkpoint import Checkpoint, dump_bounded, write
from streams.deadletter import dead_letter_key, encode_dead_letter
from streams.hooks import Listeners, Stats
from streams.ingest import DeadLetter, Ingest, Outcome, TxRecord
from streams.kafka_security import faust_options
from streams.membership import group_options
from streams.quarantine import FailedSteps, Position, is_transient
from streams.settings import Settings
from streams.stalls import Stalls
from streams.wire import (
    BULK,
    BY_TX,
    FACTS,
    UNIT_DELTAS,
    Claim,
    Fact,
    Source,
    UnitDelta,
    encode,
    messages,
    position,
)
from streams.wire import source as wire_source

log = logging.getLogger(__name__)

#: Every topic the pipeline reads or writes (before the prefix); the worker creates them all
#: with ``settings.partitions`` partitions before it starts, so they are co-partitioned.
TOPICS = (
    "payments",
    "payments-bulk",
    "payments-dlq",
    "payments-by-tx",
    "payments-by-dossier",
    "unit-deltas",
)
#: The tables; the worker creates their (compacted) changelog topics before it starts.
TABLES = ("txns", "dossiers", "counters")
#: Exit status of a worker whose step failed (EX_SOFTWARE): see :func:`_step`.
EXIT_STEP_FAILED = 70
#: RocksDB memory per table partition (a worker opens up to 3 tables x PAYWATCH_PARTITIONS,
#: standbys included). Faust's defaults give each one its own 2 GiB block cache and three 64 MiB
#: write buffers, which is what a worker's memory grew into. These allow about 14 MiB each (two
#: 4 MiB write buffers, an 8 MiB block cache, 2 MiB compressed), about 250 MiB for 18.
#: Bloom filters of 10 bits a key (Faust's 3 let about a quarter of the lookups of a key a file
#: does not hold read a block of it; most lookups are of rows not written yet).
ROCKSDB: dict[str, Any] = {
    "bloom_filter_size": 10,
    "write_buffer_size": 4 * 2**20,
    "max_write_buffer_number": 2,
    "target_file_size_base": 16 * 2**20,
    "block_cache_size": 8 * 2**20,
    "block_cache_compressed_size": 2 * 2**20,
}
#: Messages fetched ahead for each agent (Faust's default is 4,096): a message of
#: `payments-bulk` or of the internal topics holds up to 500 events, and 4,096 of them queued
#: were most of a replaying worker's memory (1M replayed: 858 MiB with 4,096, 570 MiB with 256).
STREAM_BUFFER_MESSAGES = 256
#: Payments in one dossier above which each new one checks the dossier's row still fits in a
#: changelog message (about 6,000 payments would not; a real dossier has a few).
LARGE_DOSSIER = 1000
#: Largest record batch the producer builds (Faust's default is 16 KiB): a checkpoint sends its
#: changelog messages in batches of this size, a few to one produce request.
PRODUCER_BATCH_BYTES = 256 * 1024
#: Seconds between checks for a partition that stopped short of its end (_resume_stalled),
#: and the longest wait between two seeks of one still stopped at the same offset.
STALL_CHECK_S = 5.0
STALL_RESEEK_MAX_S = 300.0
Item = TypeVar("Item")
RAW: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
BYTES: dict[str, Any] = {"key_type": bytes, "value_type": bytes, **RAW}
Events = list[EventT[bytes]]


class Pipeline:
    """The app and everything declared on it, built from settings."""

    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        seam.check_version()
        self.settings = settings
        self.registry = registry or Registry.load(settings.province_codes)
        self.logic = Ingest(self.registry, settings.partitions, settings.topic("payments-bulk"))
        self.stats = Stats()
        self.listeners = Listeners()
        self.failed_steps = FailedSteps(
            settings.data_dir / "failed-steps.json", settings.crash_loop_limit
        )
        self._horizon: dict[int, int] = {}
        self._purged: dict[int, int] = {}
        self._purge_due: dict[int, tuple[int, EventT[bytes]]] = {}
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
            stream_buffer_maxsize=STREAM_BUFFER_MESSAGES,
            producer_max_batch_size=PRODUCER_BATCH_BYTES,
            # Commit as often as checkpoints release events (Faust's default is every 2.8 s).
            # Not more often: Faust's commit timer and the livelock check it paces wake a quiet
            # worker each time (every 0.25 s: 3.6% of a core at 20 events/s instead of 3.0%).
            broker_commit_interval=settings.checkpoint_interval_s,
            # The worker creates every topic before it starts (run_worker); Faust would ask the
            # broker again for each one at every start, and needs its leader topic for nothing.
            topic_allow_declare=False,
            topic_disable_leader=True,
            autodiscover=False,
            **group_options(settings),
            **faust_options(settings),
            **RAW,
        )
        topic = settings.topic
        self.payments_name, self.bulk_name = topic("payments"), topic("payments-bulk")
        self.source = app.topic(
            self.payments_name, self.bulk_name, topic("payments-by-tx"), partitions=n, **BYTES
        )
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
        every_s, most = settings.checkpoint_interval_s, settings.checkpoint_events
        self.ingest_ck: Checkpoint[TxRecord] = Checkpoint(
            self.txns, ingest.dump, every_s, most, after=self._purge
        )
        self.dossier_ck: Checkpoint[dossiers.Dossier] = Checkpoint(
            self.dossiers, dossiers.dump, every_s, most, keep_written=True
        )
        self.tally_ck: Checkpoint[rows.Row] = Checkpoint(
            self.counters, rows.dump, every_s, most, keep_written=True
        )
        self.checkpoints: dict[str, Checkpoint[Any]] = {
            "ingest": self.ingest_ck,
            "dossier": self.dossier_ck,
            "tally": self.tally_ck,
        }
        # mode's Signal.connect is typed for plain functions; async receivers work at runtime.
        app.on_partitions_revoked.connect(self._forget_written)  # type: ignore[arg-type]
        app.on_partitions_assigned.connect(self._forget_written)  # type: ignore[arg-type]
        app.on_partitions_assigned.connect(self._forget_positions)  # type: ignore[arg-type]
        #: Per source partition, the offset of the next event a stage may take (see _in_order).
        self._next_offset: dict[Any, int] = {}
        #: Per source partition, the gap it was last sought back over: (next offset, offset
        #: found past it). Found again at once, it holds no records (see _in_order).
        self._sought_over: dict[Any, tuple[int, int]] = {}
        #: Source partitions stopped short of their end (see _resume_stalled).
        self._stalls: Stalls[Any] = Stalls(STALL_CHECK_S, STALL_RESEEK_MAX_S)
        self._last_step_s = 0.0  # monotonic time of the last step that took events
        sources = {topic(t) for t in TOPICS}
        seam.wrap_rebalance_seek(app.consumer, sources, self._next_offset.__setitem__)
        seam.deliver_directly(app.consumer)
        seam.fetch_what_was_asked(app.consumer)
        seam.resume_flow_once(app)
        seam.drop_stale_changelog_events(app)
        seam.hold_fetches(app.consumer, settings.fetch_min_bytes, settings.fetch_max_wait_ms)
        app.agent(self.source, name="ingest")(self._ingest)
        app.agent(self.by_dossier, name="dossier")(self._dossier)
        app.agent(self.unit_deltas, name="tally")(self._tally)
        app.timer(max(0.05, every_s / 4))(self._checkpoint_due)
        app.timer(STALL_CHECK_S)(self._resume_stalled)
        app.task(self._without_monitor)
        self._add_views()
        health.install(app)  # /healthz and /readyz, for probes (deploy/kubernetes/)

    async def _without_monitor(self) -> None:
        """Take Faust's Monitor sensor out of the message path once the app has started (it
        adds it then): it keeps in-memory rates of every message and event, about 1.5% of a
        busy worker, that nothing reads; sinks/metrics.py exports the pipeline's own."""
        self.app.sensors.remove(self.app.monitor)

    async def _forget_written(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        for ck in self.checkpoints.values():
            ck.forget_written()

    async def _forget_positions(self, sender: Any, assigned: Any, *args: Any, **kw: Any) -> None:
        """Forget where partitions this worker no longer reads stood: if one comes back, it
        starts where the group's committed offset puts it."""
        for tp in [tp for tp in self._next_offset if tp not in assigned]:
            del self._next_offset[tp]
            self._sought_over.pop(tp, None)
            self._stalls.forget(tp)

    # -- agents ------------------------------------------------------------------------------

    async def _steps(self, stream: StreamT[bytes]) -> AsyncIterator[Events]:
        async for events in seam.take_steps(
            stream, self.settings.batch_size, self.settings.batch_within_s,
            self.settings.step_max_bytes,
        ):  # fmt: skip
            yield events

    async def _ingest(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for events in self._steps(stream):
            await self._run("ingest", events)
            yield None

    async def _dossier(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for events in self._steps(stream):
            await self._run("dossier", events)
            yield None

    async def _tally(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for events in self._steps(stream):
            await self._run("tally", events)
            yield None

    async def _step_of(self, agent: str, events: Events) -> None:
        if agent == "ingest":
            await self._ingest_step(events)
        elif agent == "dossier":
            await self._dossier_step(events)
        else:
            await self._tally_step(events)

    async def _run(self, agent: str, events: Events) -> None:
        """One step of ``agent`` and, when due, its checkpoint; record by record when the step
        replays records whose steps failed ``crash_loop_limit`` times (see
        :mod:`streams.quarantine`)."""
        ck = self.checkpoints[agent]
        events = await self._in_order(events)
        if not events:
            return
        self._last_step_s = time.monotonic()
        async with ck.lock:
            watched = self.failed_steps.watching(agent)
            if watched and self.failed_steps.suspect(agent, _positions(events)):
                await self._quarantine(agent, events)
            else:
                with _step(agent, self.failed_steps, events, ck):
                    await self._step_of(agent, events)
                    if ck.due:
                        await ck.run()
            if watched:
                self.failed_steps.passed(agent, _positions(events))

    async def last_checkpoint(self) -> None:
        """Stop taking steps, run every agent's checkpoint, and commit the released offsets
        (the worker is stopping)."""
        for agent, ck in self.checkpoints.items():
            await ck.lock.acquire()  # held for good: no step runs after this
            with _step(agent, self.failed_steps, [], ck):
                await ck.run()
        await self.app.consumer.commit()

    async def _checkpoint_due(self) -> None:
        """The checkpoint of every agent whose interval has passed (a quiet stream's last
        events are released within about ``checkpoint_interval_s``)."""
        for agent, ck in self.checkpoints.items():
            if ck.due:
                async with ck.lock:
                    with _step(agent, self.failed_steps, [], ck):
                        if ck.due:
                            await ck.run()

    async def _quarantine(self, agent: str, events: Events) -> None:
        ck = self.checkpoints[agent]
        log.error(
            "agent %s: steps over these records failed %d times; replaying its %d records one "
            "at a time",
            agent,
            self.failed_steps.failures(agent),
            len(events),
        )
        with _step(agent, self.failed_steps, events, ck):
            await ck.run()  # what earlier steps left: the records below then stand alone
        failed: list[tuple[EventT[bytes], Exception]] = []
        for event in events:
            with _step(agent, self.failed_steps, [event], ck):
                try:
                    await self._step_of(agent, [event])
                    await ck.run()
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    ck.abandon()  # the record changes nothing; it stays held
                    failed.append((event, exc))
        with _step(agent, self.failed_steps, events, ck):
            if len(failed) == len(events) > 1:
                # Not one record's doing: the code fails on every record. Dead-lettering them
                # all would empty the counts; stop instead (the step is replayed on restart).
                raise failed[0][1]
            for event, error in failed:
                self._quarantined(agent, ck, event, error)
                detail = f"{agent} step: {_explain(error)}"
                ck.sent([await self._send_dead(_dead(event, "quarantined", detail))])
            await ck.run()

    def _quarantined(
        self, agent: str, ck: Checkpoint[Any], event: EventT[bytes], exc: Exception
    ) -> None:
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

    async def _send_dead(self, dead: DeadLetter) -> Awaitable[Any]:
        self.stats.dead_letters[dead.reason] += 1
        return await self.dlq.send(key=dead_letter_key(dead), value=encode_dead_letter(dead))

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

    def _items(
        self,
        events: Events,
        decoder: msgspec.msgpack.Decoder[list[Item]],
        stage: str,
        dead: list[DeadLetter],
    ) -> Iterator[tuple[EventT[bytes], int, Item]]:
        """Every item of every internal message of ``events`` with its event (made current) and
        its index; a message that does not decode goes to ``dead``."""
        for event in events:
            seam.enter(event)
            try:
                items = decoder.decode(event.value or b"")
            except Exception as exc:
                if is_transient(exc):
                    raise
                dead.append(self._failed(event, stage, exc))
                continue
            for index, item in enumerate(items):
                yield event, index, item

    def _failed_item(
        self, event: EventT[bytes], index: int, raw: bytes, stage: str, exc: Exception
    ) -> DeadLetter:
        """The dead letter of item ``index`` of an internal message (``raw``: that item alone)."""
        letter = self._failed(event, stage, exc)
        detail = f"item {index} of the message: {letter.detail}"
        return DeadLetter(letter.reason, detail, raw, letter.source)

    # -- ingest ------------------------------------------------------------------------------

    async def _ingest_step(self, events: Events) -> None:
        ck = self.ingest_ck
        ck.hold(events)
        out = Outcome()
        for event in events:
            seam.enter(event)
            if event.message.topic == self.bulk_name:
                self._ingest_bulk(event, out)
                continue
            try:
                outcome, key = self._ingest_one(event)
            except Exception as exc:
                if is_transient(exc):
                    raise
                out.dead.append(self._failed(event, "ingest", exc))
                continue
            self._keep(event, outcome, key, out)
        ck.sent(await self._send_outcome(out))
        self._maybe_purge(events)

    def _keep(self, event: EventT[bytes], outcome: Outcome, key: str | None, out: Outcome) -> None:
        """Leave the transaction record of ``key`` with the checkpoint and ``outcome``'s messages
        with the step's ``out``."""
        if key is not None:
            # An unchanged record is written again: after a crash the local store can be
            # ahead of the changelog, and the replayed step must bring the changelog level.
            record = outcome.record or self._record(key)
            if record is not None:
                self.ingest_ck.put(key, event, record)
        self._collect(outcome, out)

    def _ingest_one(self, event: EventT[bytes]) -> tuple[Outcome, str | None]:
        msg = event.message
        partition = msg.partition
        raw: bytes | None = event.value
        source = wire_source(msg.topic, partition, msg.offset, msg.key)
        produced_ms = 0
        if msg.topic != self.payments_name:
            envelope = BY_TX.decode(raw or b"")
            if isinstance(envelope, Claim):
                current = self._record(envelope.target)
                if current is not None:  # on_claim changes it in place
                    current = msgspec.structs.replace(current)
                return self.logic.on_claim(envelope, current, partition), envelope.target
            raw, source = envelope.raw, envelope.source
        else:
            self.stats.events += 1
            produced_ms = round(msg.timestamp * 1000)  # Faust gives seconds
        return self._ingest_event(raw, source, partition, produced_ms)

    def _ingest_bulk(self, event: EventT[bytes], out: Outcome) -> None:
        """Every event of a ``payments-bulk`` message, as if each came alone on ``payments``;
        an event that makes ingest raise is dead-lettered alone."""
        msg = event.message
        produced_ms = round(msg.timestamp * 1000)
        for _, index, item in self._items([event], BULK, "ingest", out.dead):
            self.stats.events += 1
            item_position = position(msg.offset, index)
            source = wire_source(msg.topic, msg.partition, item_position, item.key)
            try:
                outcome, key = self._ingest_event(item.raw, source, msg.partition, produced_ms)
            except Exception as exc:
                if is_transient(exc):
                    raise
                out.dead.append(self._failed_item(event, index, item.raw, "ingest", exc))
                continue
            self._keep(event, outcome, key, out)

    def _ingest_event(
        self, raw: bytes | None, source: Source, partition: int, produced_ms: int
    ) -> tuple[Outcome, str | None]:
        """One payment event (``raw``, read at ``source``) in ``partition``; ``produced_ms``: the
        record time of the message that brought it from the portal or replay, 0 if
        rerouted."""
        decoded, early = self.logic.route(raw, source, partition)
        if early is not None:
            return early, None
        assert decoded is not None and raw is not None
        key = decoded.transaction_id
        outcome = self.logic.on_event(decoded, raw, source, self._record(key), partition)
        if produced_ms:  # the payment's own record time
            outcome.facts = [
                msgspec.structs.replace(f, produced_ms=produced_ms) for f in outcome.facts
            ]
        if outcome.record is not None:
            seen = outcome.record.seen
            self._horizon[partition] = max(self._horizon.get(partition, seen), seen)
        return outcome, key

    def _record(self, key: str) -> TxRecord | None:
        value = self.ingest_ck.get(key)
        return value if not isinstance(value, bytes | None) else ingest.load(value)

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

    async def _send_outcome(self, out: Outcome) -> list[Awaitable[Any]]:
        """Send what a step's records ask for; facts go as one message per target partition
        (see :func:`streams.wire.messages`). Returns the acknowledgements to wait for."""
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
            for message in messages(items):
                acks.append(await self.by_dossier.send(value=message, partition=part))
        return acks

    def _maybe_purge(self, events: Events) -> None:
        """Note the partitions whose transaction records are due for a purge: those older than
        the retention, counted in event-date days behind the newest event date seen in the
        same partition (docs/exactness.md, Deduplication retention). The purge itself runs after
        the next checkpoint (:meth:`_purge`), when every record is in the table."""
        retention = self.settings.dedup_retention_days
        step = max(1, retention // 2)  # each purge reads the whole table
        for event in events:
            partition = event.message.partition
            horizon = self._horizon.get(partition)
            if horizon is None:
                continue
            purged = self._purged.setdefault(partition, horizon)
            if horizon - purged >= step:
                self._purged[partition] = horizon
                self._purge_due[partition] = (horizon - retention, event)

    def _claims_read(self) -> bool:
        """True when every assigned ``payments-by-tx`` partition has been read to its end (as
        the last fetch saw it): no claim or reroute is on its way to a record here."""
        consumer: Any = self.app.consumer
        by_tx = self.by_tx.get_topic_name()
        for tp in consumer.assignment():
            if tp.topic == by_tx:
                end = consumer.highwater(tp)
                if end is None or end > self._next_offset.get(tp, 0):
                    return False
        return True

    async def _purge(self) -> None:
        """Delete the records :meth:`_maybe_purge` found due, in one pass over the stores of
        their partitions.

        Not while claims are on their way: in a backfill the payments can be read far ahead of
        the claims they sent to ``payments-by-tx``, and a claim must meet its payment's record
        before the record may go. A due purge waits for a checkpoint with no claim pending."""
        if not self._purge_due or not self._claims_read():
            return
        due, self._purge_due = self._purge_due, {}
        stale: dict[int, list[bytes]] = {p: [] for p in due}
        for key, value in seam.stored_items(self.txns, due):
            try:
                record = ingest.load(value)
            except msgspec.DecodeError:
                continue  # not ours to judge here; a record's own event dead-letters it
            if record is None or record.partition not in due:
                continue
            if record.seen < due[record.partition][0]:
                stale[record.partition].append(key)
        tombstones: list[seam.Row] = []
        for partition, keys in stale.items():
            event = due[partition][1]
            tombstones += [(event, key, None) for key in keys]
            log.info("purging %d transaction records in partition %d", len(keys), partition)
        await write(self.txns, tombstones)

    # -- dossier -----------------------------------------------------------------------------

    async def _dossier_step(self, events: Events) -> None:
        """Apply each fact of each message to its dossier and send the message's changes as one
        delta per unit (see :class:`streams.dossiers.MessageDeltas` for why that is exact); a
        fact that raises is dead-lettered alone and the rest of its message still counts."""
        ck = self.dossier_ck
        ck.hold(events)
        deltas: dict[int, list[UnitDelta]] = {}
        dead: list[DeadLetter] = []
        n = self.settings.partitions
        for event in events:
            merged = dossiers.MessageDeltas()
            for _, index, fact in self._items([event], FACTS, "dossier", dead):
                try:
                    state, changes = self._dossier_one(fact)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    dead.append(self._failed_item(event, index, encode([fact]), "dossier", exc))
                    continue
                ck.put(fact.dossier, event, state)  # written even when unchanged (see ingest)
                merged.add(fact, changes)
            msg = event.message
            for delta in merged.deltas(msg.partition, msg.offset):
                deltas.setdefault(ingest.partition_for(delta.unit, n), []).append(delta)
        acks = [await self._send_dead(letter) for letter in dead]
        for part, batch in deltas.items():
            for message in messages(batch):
                acks.append(await self.unit_deltas.send(value=message, partition=part))
        ck.sent(acks)

    def _dossier_one(self, fact: Fact) -> tuple[dossiers.Dossier, dossiers.Changes]:
        """The dossier with ``fact`` applied, and the counter changes per unit it makes."""
        value = self.dossier_ck.get(fact.dossier)
        state = value if isinstance(value, dossiers.Dossier) else dossiers.load(value)
        state, changes = dossiers.apply_fact(state, fact)
        if len(state.payments) > LARGE_DOSSIER:
            dump_bounded(dossiers.dump, fact.dossier, state)  # refuse the payment that overflows
        return state, changes

    # -- tally -------------------------------------------------------------------------------

    async def _tally_step(self, events: Events) -> None:
        """Add each delta to its rows, changing in place the step's own copy of each row.
        ``stats.deltas_applied`` counts the deltas added to at least one row,
        ``stats.deltas_replayed`` those every row had applied already (their marks)."""
        ck = self.tally_ck
        ck.hold(events)
        changed: dict[str, rows.Row] = {}
        timed: list[UnitDelta] = []
        dead: list[DeadLetter] = []
        for event, index, delta in self._items(events, UNIT_DELTAS, "tally", dead):
            try:
                staged = self._tally_one(delta, changed)
            except Exception as exc:
                if is_transient(exc):
                    raise
                dead.append(self._failed_item(event, index, encode([delta]), "tally", exc))
                continue
            applied = False
            for key, row, fresh in staged:
                ck.put(key, event, row)  # a replayed row is written again (see ingest)
                applied = applied or fresh
            if applied:
                self.stats.deltas_applied += 1
                if delta.timings:
                    timed.append(delta)
            else:
                self.stats.deltas_replayed += 1
        ck.sent([await self._send_dead(letter) for letter in dead])
        for delta in timed:
            for event_time_us, produced_ms in delta.timings:
                self.stats.counted(event_time_us / 1e6, produced_ms / 1e3)
        # The live view may show a row before its checkpoint: a replay rebuilds the same values.
        self.listeners.notify([(*rows.split_key(key), row.values) for key, row in changed.items()])

    def _tally_one(
        self, delta: UnitDelta, own: dict[str, rows.Row]
    ) -> list[tuple[str, rows.Row, bool]]:
        """The rows ``delta`` makes, all or none: (key, row, whether the delta changed it);
        ``own``: the rows the step changed so far (see :func:`streams.counters.tally`)."""
        return rows.tally(delta, self._tally_row, own)

    def _tally_row(self, key: str) -> rows.Row:
        """Row ``key`` as it stands, as a row the step may change: the checkpoint's own is
        copied (it is the last step's or the last checkpoint's)."""
        value = self.tally_ck.get(key)
        return rows.copied(value) if isinstance(value, rows.Row) else rows.load(value)

    async def _in_order(self, events: Events) -> Events:
        """The events that continue their partition without a gap, of partitions this worker
        is assigned; every stage takes only these.

        Faust delivers events fetched before a rebalance's seek after it, ahead of the replay,
        and counts the offsets it skipped as acknowledged: a stage that took such an event
        would let a commit pass events nobody processed (payments never counted), and the
        tally's marks, which need each source partition in order, would drop the skipped
        deltas when they came. So an event past a gap is dropped unacknowledged and its
        partition sought back to the gap: the missing events, then the dropped one, come
        again. A replay (an offset already passed) is kept; the stages recognise it. A gap
        found again at once after its seek holds no records (a producer's transaction
        markers) and is passed. Events of partitions no longer assigned are dropped: their
        new owner reads them."""
        kept = []
        rewind: dict[Any, int] = {}
        consumer: Any = self.app.consumer
        assigned = consumer.assignment()
        for event in events:
            msg = event.message
            tp = msg.tp
            if tp not in assigned:
                self.stats.out_of_order += 1
                seam.unread(consumer, msg)
                continue
            expected = self._next_offset.get(tp, msg.offset)
            if tp in rewind or (
                msg.offset > expected and self._sought_over.get(tp) != (expected, msg.offset)
            ):
                self.stats.out_of_order += 1
                if tp not in rewind:
                    rewind[tp] = expected
                    self._sought_over[tp] = (expected, msg.offset)
                seam.unread(consumer, msg)
                continue
            if msg.offset > expected:
                log.info("%s: offsets %d to %d hold no records", tp, expected, msg.offset - 1)
            self._sought_over.pop(tp, None)
            kept.append(event)
            self._next_offset[tp] = max(expected, msg.offset + 1)
        for tp, offset in rewind.items():
            log.info("%s: offset %d missing before later ones; reading again from it", tp, offset)
        if rewind:
            await seam.rewind(consumer, rewind)
        return kept

    async def _resume_stalled(self) -> None:
        """Read again a partition that stopped short of its end (see :mod:`streams.stalls`:
        two quiet checks at the same offset, then again after a doubling wait while it stays
        there). A busy worker is left alone: a partition's events may wait in a queue behind
        others', and one stopped short is found by _in_order when its next event comes."""
        if self.app.rebalancing or time.monotonic() - self._last_step_s < STALL_CHECK_S:
            self._stalls.busy()
            return
        consumer: Any = self.app.consumer
        behind = {}
        for tp in consumer.assignment():
            expected, end = self._next_offset.get(tp), consumer.highwater(tp)
            if expected is not None and end is not None and end > expected:
                behind[tp] = expected
        stalled = self._stalls.to_seek(behind, time.monotonic())
        for tp, offset in stalled.items():
            log.info("%s: stopped at offset %d before its end; reading again", tp, offset)
        if stalled:
            await seam.rewind(consumer, stalled)

    # -- reading -----------------------------------------------------------------------------

    def local_counters(
        self, units: frozenset[str] | None = None, periods: frozenset[str] | None = None
    ) -> dict[str, dict[str, int]]:
        """This worker's counter rows (its active partitions), "unit|period" -> fields; only
        those of ``units`` and ``periods`` when given."""
        out = {}
        for key, value in self.counters.items():
            name = key.decode() if isinstance(key, bytes) else str(key)
            if rows.selected(name, units, periods):
                out[name] = rows.as_dict(rows.load(value).values)
        return out

    def _add_views(self) -> None:
        pipeline = self

        async def counters(view: Any, request: Any) -> Any:
            """This worker's counters as JSON: {"unit|period": {field: value}};
            ?unit=148,04789 and ?period=2022,2022-03 keep only those rows."""
            query = request.query
            units, periods = rows.wanted(query, "unit"), rows.wanted(query, "period")
            return view.json(pipeline.local_counters(units, periods))

        async def stats(view: Any, request: Any) -> Any:
            """This process's simple counts (events, duplicates, dead letters by reason)."""
            return view.json(pipeline.stats.as_dict())

        self.app.page("/counters/")(counters)
        self.app.page("/stats/")(stats)


def _positions(events: list[EventT[bytes]]) -> list[Position]:
    return [(e.message.topic, e.message.partition, e.message.offset) for e in events]


def _dead(event: EventT[bytes], reason: str, detail: str) -> DeadLetter:
    msg = event.message
    return DeadLetter(
        reason, detail, event.value, wire_source(msg.topic, msg.partition, msg.offset, msg.key)
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


@contextlib.contextmanager
def _step(
    agent: str, failed: FailedSteps, events: Events, ck: Checkpoint[Any] | None = None
) -> Iterator[None]:
    """Exit the process at once when a step fails.

    Faust restarts a crashed agent, and ``take_events`` acknowledges the crashed step's events
    on the way out, so their offsets would be committed unprocessed: counts lost without a
    trace. Exiting here commits nothing; the supervisor (systemd, compose, a test) starts the
    worker again and the step is replayed from the last commit, which the idempotent stages
    make harmless. The failure is written down first, for the crash-loop guard."""
    try:
        yield
    except Exception as exc:
        held = ck.held if ck is not None else []
        failures = failed.failed(agent, _positions([*held, *events]))
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
