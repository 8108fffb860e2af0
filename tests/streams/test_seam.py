"""The contract of streams/seam.py: every Faust internal it relies on still exists, with the
shape it relies on. No broker, well under a second; fails on a faust-streaming release that
moved or reshaped one of them (and the worker refuses an unreviewed release at start-up)."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.stores.base import SerializedStore
from faust.stores.rocksdb import RocksDBOptions
from faust.stores.rocksdb import Store as RocksStore
from faust.streams import current_event
from faust.types.tuples import TP, Message
from intervaltree import IntervalTree

from streams import seam


def _app(name: str) -> Any:
    return faust.App(
        name,
        broker="kafka://127.0.0.1:1",  # never connected
        store="memory://",
        web_enabled=False,
        autodiscover=False,
    )


@pytest.fixture(scope="module")
def app() -> Iterator[Any]:
    yield _app("seam-contract")


def test_the_installed_faust_is_a_reviewed_one() -> None:
    seam.check_version()  # the pinned version passes


def test_an_unreviewed_faust_stops_start_up_with_a_message() -> None:
    with pytest.raises(seam.SeamError) as raised:
        seam.check_version("0.16.0")
    message = str(raised.value)
    assert "faust-streaming 0.16.0" in message
    assert "streams/seam.py" in message and "REVIEWED_VERSIONS" in message


class _Event:
    message = SimpleNamespace(partition=3)


def test_the_current_event_is_a_context_variable_that_tables_read() -> None:
    event: Any = _Event()

    def inside() -> Any:
        seam.enter(event)
        return current_event()

    assert contextvars.copy_context().run(inside) is event


def test_the_consumer_internals_used_after_a_rebalance(app: Any) -> None:
    consumer = app.consumer
    assert inspect.iscoroutinefunction(consumer.perform_seek)
    assert inspect.signature(consumer.perform_seek).parameters == {}
    for name in ("_committed_offset", "_read_offset", "_gap"):
        assert hasattr(getattr(consumer, name), "get"), name
    assert isinstance(consumer._gap["any"], IntervalTree)
    assert hasattr(IntervalTree, "chop")
    assert hasattr(consumer._unacked_messages, "discard")
    thread = consumer._thread
    for name in ("seek_to_beginning", "position"):
        assert inspect.iscoroutinefunction(getattr(thread, name)), name
    assert list(inspect.signature(consumer.seek_wait).parameters) == ["partitions"]
    # rewinds rely on seek_wait seeking on the consumer's own thread, as aiokafka requires
    assert "self.call_thread(self._seek_wait" in inspect.getsource(type(thread).seek_wait)


def test_holding_and_releasing_a_message(app: Any) -> None:
    message = Message("t", 0, 5, 0.0, 0, None, b"k", b"v", None)
    for name in ("incref", "ack", "decref"):
        assert callable(getattr(message, name)), name
    assert message.refcount == 0 and message.acked is False
    message.incref()
    assert message.refcount == 1


def test_the_table_write_path(app: Any) -> None:
    table = app.Table("seam-contract-rows", key_type=bytes, value_type=bytes)
    assert table.changelog_topic.get_topic_name() == "seam-contract-seam-contract-rows-changelog"
    assert hasattr(table, "data")
    assert callable(RocksStore.set_persisted_offset)
    assert list(inspect.signature(RocksStore.set_persisted_offset).parameters) == [
        "self",
        "tp",
        "offset",
    ]
    assert isinstance(table.data.data, dict)  # the memory store's rows
    assert list(inspect.signature(SerializedStore._get).parameters) == ["self", "key"]
    assert list(inspect.signature(RocksStore._db_for_partition).parameters) == [
        "self",
        "partition",
    ]
    assert issubclass(RocksStore, SerializedStore)
    assert isinstance(RocksDBOptions.use_rocksdict, bool)  # copied to each store at init
    send = type(app.producer).send
    assert inspect.iscoroutinefunction(send)
    params = list(inspect.signature(send).parameters)
    assert params[:7] == ["self", "topic", "key", "value", "partition", "timestamp", "headers"]


def test_stored_items_are_the_raw_rows_of_the_partitions_asked(tmp_path: Any, app: Any) -> None:
    rocks = faust.App(
        "seam-stored",
        broker="kafka://127.0.0.1:1",
        store="rocksdb://",
        datadir=str(tmp_path),
        web_enabled=False,
        autodiscover=False,
    )
    table = rocks.Table("rows", partitions=3, key_type=bytes, value_type=bytes)
    store = table.data
    assert isinstance(store, RocksStore)
    for partition, key in ((0, b"a"), (1, b"b"), (2, b"c")):
        store._db_for_partition(partition).put(key, b"v-" + key)
    store.set_persisted_offset(TP(table.changelog_topic.get_topic_name(), 0), 7)
    assert list(seam.stored_items(table, [0])) == [(b"a", b"v-a")]  # not the offset key
    reads = contextvars.copy_context()
    assert reads.run(seam.read_row, table, b"b") == b"v-b"  # no current event: any partition
    in_partition_1: Any = _Event()
    in_partition_1.message = SimpleNamespace(partition=1)
    reads.run(seam.enter, in_partition_1)
    assert reads.run(seam.read_row, table, b"b") == b"v-b"
    assert reads.run(seam.read_row, table, b"a") is None  # partition 0's row
    assert sorted(seam.stored_items(table, {0, 2})) == [(b"a", b"v-a"), (b"c", b"v-c")]
    memory = app.Table("seam-contract-stored", partitions=2, key_type=bytes, value_type=bytes)
    memory.data.data.update({b"x": b"1", b"y": b"2"})
    assert sorted(seam.stored_items(memory, [1])) == [(b"x", b"1"), (b"y", b"2")]


def test_a_rocksdb_write_batch_puts_and_deletes_raw_keys(tmp_path: Any) -> None:
    db = RocksDBOptions().open(tmp_path / "db")
    db.put(b"gone", b"0")
    batch = seam._write_batch(SimpleNamespace(use_rocksdict=RocksDBOptions.use_rocksdict))
    batch.put(b"k", b"v")
    batch.delete(b"gone")
    db.write(batch)
    assert db.get(b"k") == b"v"
    assert db.get(b"gone") is None


def test_deliveries_skip_the_race_only_while_the_flow_runs() -> None:
    consumer = _app("seam-contract-deliver").consumer
    drain = " ".join(inspect.getsource(type(consumer)._drain_messages).split())
    assert "await self.wait_first( callback(message), self.suspend_flow.wait() )" in drain
    assert drain.count("wait_first(") == 1
    seam.deliver_directly(consumer)

    async def deliver(name: str) -> str:
        await asyncio.sleep(0.01)
        return name

    async def both() -> tuple[Any, Any]:
        flow_stop = consumer.suspend_flow.wait()
        assert flow_stop.__qualname__ == "Event.wait"
        direct = await consumer.wait_first(deliver("a"), flow_stop)
        consumer.suspend_flow.set()  # a rebalance stopped the flow: Faust's race decides
        stopped_flow = consumer.suspend_flow.wait()
        raced = await consumer.wait_first(deliver("b"), stopped_flow)
        return direct, (raced, stopped_flow)

    direct, (raced, stopped_flow) = consumer.loop.run_until_complete(both())  # Faust's loop
    assert (direct.results, direct.stopped) == (["a"], False)
    assert raced.done == [stopped_flow] and raced.results == [True]  # the flow stop won


def test_a_fetch_returns_records_only_of_the_partitions_active_when_it_was_asked() -> None:
    consumer = _app("seam-contract-getmany").consumer
    wait_next = " ".join(inspect.getsource(type(consumer)._wait_next_records).split())
    assert "active_partitions = self._get_active_partitions()" in wait_next
    assert "await self._getmany( active_partitions=active_partitions, timeout=timeout, )" in (
        wait_next
    )
    assert list(inspect.signature(consumer._getmany).parameters) == ["active_partitions", "timeout"]
    asked: list[Any] = []

    async def fetch(active_partitions: Any, timeout: float) -> dict[str, Any]:
        asked.append(active_partitions)
        await asyncio.sleep(0.01)
        return {}

    consumer._getmany = fetch
    seam.fetch_what_was_asked(consumer)
    live = {"changelog-0", "standby-1"}

    async def fetches() -> None:
        fetching = asyncio.ensure_future(consumer._getmany(live, 1.0))
        await asyncio.sleep(0)
        live.clear()  # the main thread pauses them while the fetch waits
        await fetching
        await consumer._getmany(live, 1.0)  # nothing active: no fetch at all
        await consumer._getmany(None, 1.0)  # a client-only app's "every partition"

    consumer.loop.run_until_complete(fetches())
    assert asked == [frozenset({"changelog-0", "standby-1"}), None]


def test_fetches_are_held_on_the_consumer_faust_creates() -> None:
    consumer = _app("seam-contract-fetch").consumer
    thread = consumer._thread
    assert list(inspect.signature(thread._create_worker_consumer).parameters) == ["transport"]
    seam.hold_fetches(consumer, 65_536, 250)

    async def create() -> Any:
        return thread._create_worker_consumer(consumer.transport)

    kafka_consumer = consumer.loop.run_until_complete(create())
    assert (kafka_consumer._fetch_min_bytes, kafka_consumer._fetch_max_wait_ms) == (65_536, 250)
    start = " ".join(inspect.getsource(type(kafka_consumer).start).split())
    assert "fetch_min_bytes=self._fetch_min_bytes" in start
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in start


def test_a_resume_clears_the_changelog_queue_only_after_a_stop() -> None:
    app = _app("seam-contract-flow")
    seam.resume_flow_once(app)
    queue = app.FlowControlQueue(maxsize=10, clear_on_resume=True)
    flow = app.flow_control
    assert not flow.is_active()  # suspended until the first assignment's recovery resumes it
    flow.resume()
    queue.put_nowait("standby row read after the standbys started")
    flow.resume()  # recovery's second resume, after the stream partitions' seek
    assert queue.qsize() == 1
    flow.suspend()  # a rebalance: what is queued now is stale
    flow.resume()
    assert queue.qsize() == 0
    recovery = inspect.getsource(type(app.tables.recovery))
    assert recovery.count("flow_control.resume)()") + recovery.count("flow_control.resume()") >= 3


def test_a_step_closes_at_its_events_or_at_its_bytes() -> None:
    """A thousand `payments-bulk` messages of 500 events made steps of half a million events;
    the bytes of the values close such a step after a few messages."""
    assert not seam.step_is_full(999, 400_000, 1000, 1_048_576)  # single events: by count
    assert seam.step_is_full(1000, 400_000, 1000, 1_048_576)
    assert not seam.step_is_full(5, 5 * 180_000, 1000, 1_048_576)  # bulk: by bytes
    assert seam.step_is_full(6, 6 * 180_000, 1000, 1_048_576)


def test_recovery_gets_only_changelog_events_of_this_generation_it_reads() -> None:
    app = _app("seam-contract-changelog")
    seam.drop_stale_changelog_events(app)
    recovery = app.tables.recovery
    standby, gone = faust.types.TP("c-changelog", 3), faust.types.TP("c-changelog", 4)
    recovery.standby_tps.add(standby)
    app.consumer_generation_id = 7

    def event(tp: Any, offset: int, generation: int | None) -> Any:
        message = Message(tp.topic, tp.partition, offset, 0.0, 0, None, b"k", b"v", None)
        message.generation_id = generation
        return SimpleNamespace(message=message)

    async def read() -> list[tuple[int, int]]:
        queue = app.tables.changelog_queue
        app.flow_control.resume()
        for item in (
            event(standby, 932, 6),  # fetched before the rebalance, queued after it
            event(gone, 10, 7),  # a partition recovery does not read (any more)
            event(standby, 839, 7),
            event(standby, 840, None),  # no generation known: kept
        ):
            queue.put_nowait(item)
        got = [await asyncio.wait_for(queue.get(), 1) for _ in range(2)]
        return [(e.message.partition, e.message.offset) for e in got]

    assert asyncio.run(read()) == [(3, 839), (3, 840)]
    slurp = inspect.getsource(type(recovery))
    assert "changelog_queue.get()" in slurp
    assert "generation_id" in inspect.signature(Message).parameters
