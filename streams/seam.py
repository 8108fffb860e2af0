"""The one place where paywatch touches Faust's private internals.

Each function names what it relies on. The worker refuses to start on a faust-streaming
version these were not reviewed against (:func:`check_version`), and
``tests/streams/test_seam.py`` checks, in well under a second and without a broker, that every
internal used here still exists with the shape used here. Public Faust API is used directly
elsewhere; the two public calls here (holding and releasing an event) sit beside the private
ones because they are the other half of the same acknowledgement bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterator,
    Mapping,
    Sequence,
)
from importlib.metadata import version
from typing import Any, Final

from aiokafka import TopicPartition as KafkaTP
from faust.stores.base import SerializedStore
from faust.stores.rocksdb import Store as RocksDBStore
from faust.stores.rocksdb import rocksdb, rocksdict  # type: ignore[attr-defined]
from faust.streams import _current_event as _CURRENT_EVENT
from faust.types import EventT
from mode.services import WaitResults

log = logging.getLogger(__name__)

Events = list[EventT[bytes]]

#: faust-streaming versions whose internals were read against this module.
REVIEWED_VERSIONS: Final = frozenset({"0.15.3"})


class SeamError(SystemExit):
    """Faust is a version this module was not reviewed against."""


def check_version(installed: str | None = None) -> None:
    """Stop start-up on a faust-streaming version this module was not reviewed against."""
    found = installed or version("faust-streaming")
    if found not in REVIEWED_VERSIONS:
        reviewed = ", ".join(sorted(REVIEWED_VERSIONS))
        raise SeamError(
            f"paywatch: faust-streaming {found} is installed, but the worker relies on Faust "
            f"internals reviewed only for {reviewed} (streams/seam.py). Install the pinned "
            f"version (pip install faust-streaming=={min(REVIEWED_VERSIONS)}), or review "
            "streams/seam.py against the new version, run tests/streams/test_seam.py and add "
            "the version to REVIEWED_VERSIONS."
        )


# -- the current event ---------------------------------------------------------------------


def enter(event: EventT[bytes]) -> None:
    """Make ``event`` the current event of this task, so table reads and writes use its
    partition. Private: ``faust.streams._current_event``. Only the context variable is set:
    ``Stream._set_current_event`` would also set ``stream.current_event``, which
    ``take_events``'s background buffer reads to know which event it is adding, and so would
    make it drop one event and repeat another."""
    _CURRENT_EVENT.set(weakref.ref(event))


# -- acknowledgements ----------------------------------------------------------------------


def hold(event: EventT[bytes]) -> None:
    """Keep ``event`` from being acknowledged by the stream that delivered it (public: a
    message's reference count; ``take_events``'s own ack then leaves it unacknowledged)."""
    event.message.incref()


def release(event: EventT[bytes]) -> None:
    """Drop the hold of :func:`hold`: the event is acknowledged, so a commit may pass it."""
    event.ack()


def unread(consumer: Any, message: Any) -> None:
    """Make sure no commit passes ``message``, which is dropped now and read again later.
    Private: ``Message.acked`` (set, so ``take_events``'s ack does nothing) and
    ``Consumer._unacked_messages`` (left, so a rebalance does not wait for it)."""
    message.acked = True
    consumer._unacked_messages.discard(message)


async def rewind(consumer: Any, offsets: Mapping[Any, int]) -> None:
    """Read each partition again from its offset. Faust took the offsets it skipped for a gap
    in the log, which counts as acknowledged when it commits; they come again now, so only
    their own acks may commit them. The seek runs on the consumer's own thread (Faust's
    ``seek_wait``): aiokafka's fetcher is not thread-safe, and a seek from this thread deletes
    buffered records while that thread reads them. Private: ``Consumer._gap`` (a per-partition
    interval tree)."""
    for tp, offset in offsets.items():
        gap = consumer._gap.get(tp)
        if gap:
            gap.chop(offset, 2**63)
    await consumer.seek_wait(dict(offsets))


def committed_offsets(consumer: Any) -> Mapping[Any, int | None]:
    """The offsets Faust last committed, per partition. Private: ``Consumer._committed_offset``."""
    offsets: Mapping[Any, int | None] = consumer._committed_offset
    return offsets


# -- steps -----------------------------------------------------------------------------------


def take_steps(
    stream: Any, max_events: int, within_s: float, max_bytes: int
) -> AsyncIterator[Events]:
    """Faust's ``Stream.take_events``, except that an empty stream sleeps until an event comes,
    and a step also closes once its messages' values reach ``max_bytes`` (a ``payments-bulk``
    message holds 500 events: a thousand of them made steps of half a million).

    ``take_events`` wakes every ``within`` seconds whether or not anything arrived (each wake
    a ``wait_first`` of three tasks): three agents at 50 ms were a third of an idle worker's
    CPU. Here a step's window opens with its first event and closes ``within_s`` later or when
    ``max_events`` are in, so an event still waits at most ``within_s``. Everything else is
    ``take_events``' own bookkeeping, kept as it is: a processor fills the buffer from the
    passively drained channel and waits while a full buffer is consumed, acks are the stream's
    to give after the step, and the stream closes the generator when it stops. Private:
    ``Stream._enable_passive``, ``Stream._processors`` and ``Stream._active_agens``."""
    steps = _steps(stream, max_events, within_s, max_bytes)
    stream._active_agens.add(steps)
    return steps


def step_is_full(events: int, size: int, max_events: int, max_bytes: int) -> bool:
    """Whether a step of ``events`` messages whose values take ``size`` bytes is closed."""
    return events >= max_events or size >= max_bytes


async def _steps(
    stream: Any, max_events: int, within_s: float, max_bytes: int
) -> AsyncGenerator[Events, None]:
    events: Events = []
    size = 0  # bytes of the step's message values
    arrived, full, consumed = asyncio.Event(), asyncio.Event(), asyncio.Event()
    consuming: asyncio.Future[None] | None = None

    async def add_to_buffer(value: Any) -> Any:
        nonlocal consuming, size
        try:
            if consuming is not None:
                try:
                    await consuming
                finally:
                    consuming = None
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_steps found current_event is None")
            events.append(event)
            size += len(event.message.value or b"")
            arrived.set()
            if step_is_full(len(events), size, max_events, max_bytes):
                full.set()
                consumed.clear()
                await stream.wait(consumed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("adding to a step failed: %r", exc)
            await stream.crash(exc)
        return value

    enable_acks = stream.enable_acks
    stream.enable_acks = False
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(arrived)
            await stream.wait_for_stopped(full, timeout=within_s)
            if not events:
                continue
            consuming = asyncio.get_running_loop().create_future()
            try:
                yield list(events)
            finally:
                step, events[:], size = list(events), [], 0
                for event in step:
                    await stream.ack(event)
                if not consuming.done():
                    consuming.set_result(None)
                arrived.clear()
                full.clear()
                consumed.set()
    finally:
        stream.enable_acks = enable_acks
        stream._processors.remove(add_to_buffer)


# -- delivering --------------------------------------------------------------------------


def deliver_directly(consumer: Any) -> None:
    """Hand each fetched message to its streams without a race against a flow stop, unless the
    flow is stopped already.

    Faust delivers every message as ``wait_first(callback(message), suspend_flow.wait())``:
    four tasks and an ``asyncio.wait`` per message, about a tenth of a busy worker. The race
    matters only when a rebalance stops the flow while a delivery waits on a full stream
    buffer; streams drop undeliverable events then (flow control) and empty their buffers, so
    the delivery ends soon without it. A delivery that begins with the flow stopped still
    races, as Faust's does. Private: ``Consumer.wait_first`` (wrapped on this instance, the one
    call in ``Consumer._drain_messages`` with two coroutines) and ``Consumer.suspend_flow``."""
    race = consumer.wait_first
    suspended = consumer.suspend_flow

    async def wait_first(*coros: Any, timeout: Any = None) -> Any:
        if len(coros) != 2 or timeout is not None or suspended.is_set():
            return await race(*coros, timeout=timeout)
        delivery, flow_stop = coros
        if getattr(flow_stop, "__qualname__", "") != "Event.wait":
            return await race(*coros, timeout=timeout)
        flow_stop.close()
        result = await delivery
        return WaitResults([delivery], [result], False)

    consumer.wait_first = wait_first


def hold_fetches(consumer: Any, min_bytes: int, max_wait_ms: int) -> None:
    """Let the broker hold each fetch until ``min_bytes`` are ready or ``max_wait_ms`` passed.

    Faust builds aiokafka's consumer with ``fetch_min_bytes=1``: on a quiet stream every event
    ends a fetch at each of the three stages, and each ends a small step with its own produce
    request. Faust has no setting for it. Private: ``Consumer._thread`` and
    ``AIOKafkaConsumerThread._create_worker_consumer`` (wrapped on this instance; aiokafka's
    consumer hands ``fetch_min_bytes`` and ``fetch_max_wait_ms`` to its fetcher at start)."""
    thread = consumer._thread
    create = thread._create_worker_consumer

    def create_holding(transport: Any) -> Any:
        kafka_consumer = create(transport)
        kafka_consumer._fetch_min_bytes = min_bytes
        kafka_consumer._fetch_max_wait_ms = max_wait_ms
        return kafka_consumer

    thread._create_worker_consumer = create_holding


def fetch_what_was_asked(consumer: Any) -> None:
    """Hand the fetcher a copy of the partitions to return records of, taken when the fetch
    is asked for.

    Faust passes its live set of active partitions to aiokafka's ``fetched_records``, which runs
    on the consumer thread and waits there for records. When the main thread pauses every
    partition of that set meanwhile (recovery pauses the active changelog partitions when it has
    read them, before it resumes the standby ones), the set is empty, and aiokafka takes an empty
    set for "every partition": it returns, and moves past, the records of every assigned
    partition, and Faust drops those of partitions not active. A standby partition's first
    records were lost that way, while later ones were read: the standby copy missed rows for
    good, and the worker that later took the partition over counted from an empty row (seen in
    the scale-out fault test: 3 standby copies of the counters table each missing every row
    written before their start). A frozenset, not a live view of Faust's sets: the set is then
    fixed for the whole fetch, and membership is tested in C, not in Python code run between
    aiokafka listing its buffered records and reading them (with a Python view, a seek from the
    main thread deleted a record in that window: a KeyError crashed the fetcher, seen once;
    :func:`rewind` now seeks on the consumer thread). Private: ``Consumer._getmany`` (wrapped on
    this instance)."""
    getmany = consumer._getmany

    async def getmany_of_a_copy(active_partitions: Any, timeout: float) -> Any:
        if active_partitions is None:  # a client-only app: every partition
            return await getmany(None, timeout)
        asked = frozenset(active_partitions)
        if not asked:
            return {}
        return await getmany(asked, timeout)

    consumer._getmany = getmany_of_a_copy


def drop_stale_changelog_events(app: Any) -> None:
    """Keep from recovery the changelog events it must not apply: those fetched before the
    last rebalance, and those of partitions it no longer reads.

    A rebalance sets recovery's offset of each changelog partition back to its store's own
    offset and seeks there. But an event fetched before the rebalance can still be on its way
    to recovery's queue (waiting for room in it) and arrive after that reset: recovery then
    took its offset as read, and skipped as already seen every event between the store's
    offset and it when the seek brought them (seen in the scale-out fault test: a standby copy
    of the counter table missed 88 offsets before one stale event, for good). And Faust applies
    an event of a partition it neither recovers nor stands by for to the table of the event
    before it, setting that table's stored offset from the wrong changelog (seen once: a
    counter row in the transaction table). Both are read again from the store's offset by the
    seek that comes with their partition's next assignment, so dropping them loses nothing.
    Private: ``TableManager.changelog_queue`` (its ``get``, wrapped on this instance),
    ``Recovery.active_tps``/``standby_tps``, ``Message.generation_id``."""
    queue = app.tables.changelog_queue
    recovery = app.tables.recovery
    get = queue.get

    async def get_current() -> Any:
        while True:
            event = await get()
            message = event.message
            tp = message.tp
            fetched_in = message.generation_id
            if fetched_in is not None and fetched_in != app.consumer_generation_id:
                log.info(
                    "%s: changelog offset %d fetched before a rebalance: dropped (read "
                    "again from the store's offset)",
                    tp,
                    message.offset,
                )
            elif tp not in recovery.active_tps and tp not in recovery.standby_tps:
                log.info(
                    "%s: changelog offset %d of a partition no longer read: dropped",
                    tp,
                    message.offset,
                )
            else:
                return event

    queue.get = get_current


def resume_flow_once(app: Any) -> None:
    """Make a resume of a flow that already runs do nothing.

    A resume clears the queues of the flow (the changelog queue among them): events queued
    before a rebalance stopped the flow are stale. But Faust's recovery resumes twice: once
    when it starts the standby partitions, and again when it completes, after a seek of the
    stream partitions that awaits the broker. Standby changelog events read between the two
    were dropped, while their offsets were passed: the standby copy of the table missed rows
    for good, and a worker that took the partition over counted on from stale rows (seen in
    the scale-out fault test: 158 counter rows missing from a standby, 5 rows wrong). Private:
    ``FlowControlEvent.resume`` (mode's, wrapped on this app's instance)."""
    flow = app.flow_control
    resume = flow.resume

    def resume_if_stopped() -> None:
        if not flow.is_active():
            resume()

    flow.resume = resume_if_stopped


# -- table rows, written in bulk ----------------------------------------------------------


def read_row(table: Any, key: bytes) -> bytes | None:
    """``table.get(key)`` under the current event's partition (see :func:`enter`), without
    the KeyError that Faust's mapping raises and catches for every missing row, and straight
    from that partition's RocksDB store: ``Store._get`` also files every key it finds in an
    LRU index (under a lock), of use only to reads without a current event, which paywatch
    never makes. Private: the current event (:data:`_CURRENT_EVENT`), RocksDB's
    ``_db_for_partition``, ``SerializedStore._get`` (without a current event) and the memory
    store's ``data`` dict."""
    store = table.data
    if isinstance(store, RocksDBStore) and not (table.is_global or table.use_partitioner):
        current = _CURRENT_EVENT.get(None)
        event = None if current is None else current()
        if event is not None:
            value: bytes | None = store._db_for_partition(event.message.partition).get(key)
            return value
    if isinstance(store, SerializedStore):
        value = store._get(key)
        return value
    found: bytes | None = store.data.get(key)
    return found


def stored_items(table: Any, partitions: Collection[int]) -> Iterator[tuple[bytes, bytes]]:
    """The raw (key, value) rows ``table`` stores for ``partitions``, without Faust's decoding
    of each key and value (a purge reads a whole partition: through ``table.items()`` that
    decoding was most of its cost). RocksDB keeps one store per partition, so only theirs are
    read; the memory store keeps every partition in one dict, all of which is given (the caller
    tells its rows apart). Private: RocksDB's ``_db_for_partition`` and ``_visible_items``
    (which leaves out the store's own offset key), the memory store's ``data`` dict."""
    store = table.data
    if isinstance(store, RocksDBStore):
        for partition in partitions:
            yield from store._visible_items(store._db_for_partition(partition))
    else:
        yield from store.data.items()


Row = tuple[EventT[bytes], bytes, bytes | None]


async def write_rows(table: Any, rows: Sequence[Row]) -> list[Awaitable[Any]]:
    """Write ``rows`` (event, key, value; None deletes) as ``table[key] = value`` would, each
    under its event's partition, but in bulk: one store write per partition, and the changelog
    messages of a partition in as few record batches as fit. Faust's own path writes the store
    a key at a time and queues every changelog message in its ProducerBuffer, sent one at a
    time, stopping the consumer while more than 100 wait; a checkpoint writes thousands.
    Returns the batches' acknowledgements (see :func:`persisted`).

    Private: ``Table.data`` (the store), RocksDB's ``_db_for_partition``, the memory store's
    ``data`` dict, and Faust's producer's ``_ensure_producer`` (its aiokafka producer, whose
    public ``create_batch``/``send_batch`` are used)."""
    by_partition: dict[int, list[tuple[bytes, bytes | None]]] = {}
    for event, key, value in rows:
        partition = event.message.partition
        items = by_partition.get(partition)
        if items is None:
            items = by_partition[partition] = []
        items.append((key, value))
    store = table.data
    for partition, items in by_partition.items():
        if isinstance(store, RocksDBStore):
            batch = _write_batch(store)
            for key, value in items:
                if value is None:
                    batch.delete(key)
                else:
                    batch.put(key, value)
            store._db_for_partition(partition).write(batch)
        else:
            for key, value in items:
                if value is None:
                    store.data.pop(key, None)
                else:
                    store.data[key] = value
    topic = table.changelog_topic.get_topic_name()
    producer = table.app.producer._ensure_producer()
    acks = []
    for partition, items in by_partition.items():
        records = producer.create_batch()
        for key, value in items:
            if records.append(key=key, value=value, timestamp=None) is None:
                acks.append(await _send_batch(producer, records, topic, partition))
                records = producer.create_batch()
                records.append(key=key, value=value, timestamp=None)  # one always fits
        acks.append(await _send_batch(producer, records, topic, partition))
    return acks


async def _send_batch(producer: Any, records: Any, topic: str, partition: int) -> Awaitable[Any]:
    """Send one record batch; its acknowledgement gives the offset of its last record."""
    count = records.record_count()
    sent = await producer.send_batch(records, topic, partition=partition)

    async def last() -> tuple[Any, int]:
        meta = await sent
        return meta.topic_partition, meta.offset + count - 1

    return last()


def _write_batch(store: Any) -> Any:
    if store.use_rocksdict:
        return rocksdict.WriteBatch(raw_mode=True)
    return rocksdb.WriteBatch()


def persisted(table: Any, acknowledged: list[tuple[Any, int]]) -> None:
    """Remember in the store how far its changelog partitions are written (what Faust's own
    changelog callback does per message), once per partition; ``acknowledged`` holds what
    :func:`write_rows`'s acknowledgements give. Private: ``Store``'s
    ``set_persisted_offset``."""
    last: dict[Any, int] = {}
    for tp, offset in acknowledged:
        last[tp] = max(last.get(tp, -1), offset)
    for tp, offset in last.items():
        table.data.set_persisted_offset(tp, offset)


# -- stopping ------------------------------------------------------------------------------


def stopping_quickly(worker: type[Any], last: Callable[[], Awaitable[None]]) -> type[Any]:
    """A subclass of Faust's ``Worker`` that, on SIGTERM or SIGINT, runs ``last`` (the last
    checkpoint and commit) and exits at once with status 0.

    Faust's own stop waits for every event it handed out to be acknowledged, and events held
    by a checkpoint, or buffered by ``take_events`` for a step that will never run, never are:
    a stopped worker hung until it was killed, its partitions uncounted meanwhile. After
    ``last`` every processed event's state is written and its offset committed; events read
    but not processed are replayed by whoever takes the partitions. Private: mode's
    ``Worker._stop_on_signal``."""

    class QuickStop(worker):  # type: ignore[misc]
        async def _stop_on_signal(self, signal: Any) -> None:
            log.warning("signal %s: last checkpoint, then exit", getattr(signal, "name", signal))
            try:
                await asyncio.wait_for(last(), timeout=20)
            except TimeoutError as exc:  # cut short (a broker or Redis down): no traceback
                log.error("%s; its events are counted again by whoever takes the partitions", exc)
                logging.shutdown()
                os._exit(1)
            except Exception:
                log.exception("the last checkpoint failed; its events are replayed on restart")
                logging.shutdown()
                os._exit(1)
            logging.shutdown()
            os._exit(0)

    return QuickStop


# -- after a rebalance ---------------------------------------------------------------------


def wrap_rebalance_seek(
    consumer: Any, topics: set[str], on_position: Callable[[Any, int], None]
) -> None:
    """Wrap the consumer's seek after a rebalance, for two of Faust's rebalance behaviours.

    1. Faust seeks each partition to its committed offset, but aiokafka skips partitions
       whose committed offset is missing or 0 and leaves them where its fetcher was, past
       events fetched before the rebalance and dropped by it. Those partitions go back to
       the beginning instead (replaying is harmless).
    2. Events fetched before that seek are still delivered after it, ahead of the replay,
       and the fetcher may even go on from where they end. ``on_position(tp, offset)`` is told,
       for every assigned partition of ``topics``, where reading must go on from: its
       committed offset (every event before it is counted), or where the seek above put it.

    Private: ``Consumer.perform_seek`` (replaced), ``Consumer._committed_offset``,
    ``Consumer._read_offset`` and ``Consumer._thread`` (aiokafka's seek and position)."""
    committed_seek: Callable[[], Awaitable[None]] = consumer.perform_seek

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
            committed = consumer._committed_offset.get(tp)
            if not committed:
                committed = await consumer._thread.position(KafkaTP(tp.topic, tp.partition))
            on_position(tp, committed)

    consumer.perform_seek = perform_seek
