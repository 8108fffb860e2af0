"""Helpers for stream tests on the real broker: run `paywatch worker` subprocesses, produce
records, and read the results back exactly (counters from the table's changelog topic, dead
letters from the dead-letter topic)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from models.registry import Registry
from streams.admin import ensure_topics
from streams.counters import FIELDS
from streams.settings import Settings
from streams.simulator import SimConfig, generate
from tests.processes import PAYWATCH, kill_process, stop_process
from tests.recount import Recount, recount
from tests.tier import refuse_in_unit_tier

ROOT = Path(__file__).resolve().parents[2]
SUPERVISE = str(ROOT / "deploy" / "local" / "supervise.sh")

Record = tuple[bytes | None, bytes]
Counts = dict[tuple[str, str], dict[str, int]]

#: Kafka records as (key, value), in the order they are produced.
Records = list[tuple[bytes | None, bytes]]


def simulated(config: SimConfig, registry: Registry) -> tuple[Records, Recount]:
    """The simulator's records for ``config`` and their offline recount (the ground truth)."""
    records: Records = [(r.key, r.value) for r in generate(config, registry)]
    return records, recount([v for _, v in records], registry)


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    env.update(settings.environment())
    env.update(extra)
    return env


class Worker:
    """One `paywatch worker` subprocess with its own data dir and web port; ``supervised``
    runs it under deploy/local/supervise.sh, as `make up` does (started again after exit 70).
    ``command`` replaces `paywatch worker` (a test-only worker script), ``env`` adds variables."""

    def __init__(
        self,
        settings: Settings,
        log: Path,
        supervised: bool = False,
        command: Sequence[str] = (PAYWATCH, "worker"),
        env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.log = log
        self.supervised = supervised
        self.command = list(command)
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        refuse_in_unit_tier("a paywatch worker")
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        command = self.command
        if self.supervised:
            command = ["bash", SUPERVISE, *command]
        env = worker_env(self.settings, **self.env)
        self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=out)
        return self

    def kill(self) -> None:
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def create_topics(settings: Settings) -> None:
    asyncio.run(ensure_topics(settings))


async def _produce(bootstrap: str, topic: str, records: Sequence[Record]) -> list[tuple[int, int]]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k) for k, v in records]
        metas = await asyncio.gather(*futures)
        return [(m.partition, m.offset) for m in metas]
    finally:
        await producer.stop()


def produce(bootstrap: str, topic: str, records: Sequence[Record]) -> list[tuple[int, int]]:
    """Send ``records`` in order (key = transaction id); return each one's (partition, offset)."""
    return asyncio.run(_produce(bootstrap, topic, records))


async def _produce_in_transactions(
    bootstrap: str, topic: str, records: Sequence[Record], per_transaction: int
) -> list[tuple[int, int]]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=f"{topic}-test-producer", acks="all"
    )
    await producer.start()
    try:
        metas = []
        for start in range(0, len(records), per_transaction):
            async with producer.transaction():
                chunk = records[start : start + per_transaction]
                futures = [await producer.send(topic, value=v, key=k) for k, v in chunk]
                metas += await asyncio.gather(*futures)
        return [(m.partition, m.offset) for m in metas]
    finally:
        await producer.stop()


def produce_in_transactions(
    bootstrap: str, topic: str, records: Sequence[Record], per_transaction: int
) -> list[tuple[int, int]]:
    """:func:`produce` through a transactional producer, ``per_transaction`` records a
    committed transaction: each commit leaves a marker that takes an offset in every partition
    the transaction wrote, so the records' offsets have gaps."""
    return asyncio.run(_produce_in_transactions(bootstrap, topic, records, per_transaction))


async def _read_all(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        metadata = await consumer._client.fetch_all_metadata()
        parts = metadata.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[tuple[bytes | None, bytes | None]] = []
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(timeout_ms=1000)
            for msgs in batch.values():
                out.extend((m.key, m.value) for m in msgs)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return out
    finally:
        await consumer.stop()


_ROW = msgspec.msgpack.Decoder(tuple[list[int], dict[int, int]])


def read_table(bootstrap: str, app_id: str, table: str) -> dict[bytes, bytes | None]:
    """A table as its changelog holds it: the last value per key (None: deleted)."""
    latest: dict[bytes, bytes | None] = {}
    for key, value in asyncio.run(_read_all(bootstrap, f"{app_id}-{table}-changelog")):
        assert key is not None
        latest[key] = value
    return latest


def read_counters(bootstrap: str, app_id: str) -> Counts:
    """The counters table as its changelog holds it (last value per key), zero rows left out."""
    out: Counts = {}
    for key, value in read_table(bootstrap, app_id, "counters").items():
        if value is None:
            continue
        values, _ = _ROW.decode(value)
        if any(values):
            unit, _, period = key.decode().partition("|")
            out[(unit, period)] = dict(zip(FIELDS, values, strict=True))
    return out


def read_dead_letters(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    return [json.loads(v) for _, v in asyncio.run(_read_all(bootstrap, topic)) if v is not None]


def wait_for_counters(
    bootstrap: str,
    app_id: str,
    expected: Counts,
    timeout_s: float,
    settle_s: float = 3.0,
    stall_s: float = 240.0,
) -> Counts:
    """Poll the changelog until it equals ``expected`` and stays equal for ``settle`` seconds;
    return the last reading. Gives up at the timeout, or once the reading has stayed the same,
    and wrong, for ``stall_s`` seconds: a worker that stopped counting will not catch up, and a
    failing test should say so in minutes, not at its timeout."""
    deadline_s = time.monotonic() + timeout_s
    got: Counts = {}
    changed_s = time.monotonic()
    while time.monotonic() < deadline_s and time.monotonic() - changed_s < stall_s:
        before, got = got, read_counters(bootstrap, app_id)
        if got != before:
            changed_s = time.monotonic()
        if got == expected:
            time.sleep(settle_s)
            got = read_counters(bootstrap, app_id)
            if got == expected:
                return got
        time.sleep(1.0)
    return got


def diff(expected: Counts, got: Counts, limit: int = 10) -> list[str]:
    lines = []
    for key in sorted(set(expected) | set(got)):
        if expected.get(key) != got.get(key):
            lines.append(f"{key}: expected {expected.get(key)} got {got.get(key)}")
            if len(lines) >= limit:
                break
    return lines


#: What a failing counter test quotes from a worker's log: warnings, errors, exits, and the
#: worker's own seeks over gaps and stalls and its live view's hand-over at a rebalance (logged at
#: info: run the worker with log_level="info").
NOTED_LOG_LINES = (
    "[WARNING]", "[ERROR]", "xiting", "reading again", "hold no records", "revoked", "read back",
    "went to another worker",
)  # fmt: skip


def assert_counts(got: Counts, expected: Counts, *logs: Path) -> None:
    """Fail unless ``got`` equals ``expected``, with a summary a CI log's tail can hold: how
    many rows are missing, extra and different, the paid totals, the first wrong rows, and the
    last :data:`NOTED_LOG_LINES` of each worker log in ``logs`` (not pytest's diff of two dicts
    of thousands of rows)."""
    if got == expected:
        return
    missing = len(expected.keys() - got.keys())
    extra = len(got.keys() - expected.keys())
    different = sum(1 for key in expected.keys() & got.keys() if expected[key] != got[key])
    paid = [sum(row["paid"] for row in rows.values()) for rows in (expected, got)]
    lines = [
        f"counters differ: {missing} rows missing, {extra} extra, {different} different of "
        f"{len(expected)}; paid summed over all rows: expected {paid[0]}, got {paid[1]}",
        *diff(expected, got),
    ]
    for log in logs:
        if log.exists():
            noted = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if any(mark in line for mark in NOTED_LOG_LINES)
            ]
            lines += [f"{log.name}: last of {len(noted)} noted lines:", *noted[-15:]]
    raise AssertionError("\n".join(lines))


# -- records as a bad producer may send them (fuzz tests) -----------------------------------------

Header = tuple[str, bytes | None]
#: A record with everything Kafka allows: key, value (None: a null value), headers, timestamp (ms).
FullRecord = tuple[bytes | None, bytes | None, Sequence[Header], int | None]


async def _produce_each(
    bootstrap: str, topic: str, records: Sequence[FullRecord], max_request_size: int
) -> list[tuple[int, int] | Exception]:
    from aiokafka.errors import KafkaError

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, acks="all", max_request_size=max_request_size
    )
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        sent: list[Any] = []
        for n, (key, value, headers, timestamp_ms) in enumerate(records):
            try:
                if key is None and value is None:
                    # aiokafka's send() refuses a record with neither key nor value; Kafka takes
                    # it, and another client may send it: hand it to the accumulator directly.
                    tp = TopicPartition(topic, partitions[n % len(partitions)])
                    timeout_s = producer._request_timeout_ms / 1000
                    sent.append(
                        await producer._message_accumulator.add_message(
                            tp,
                            None,
                            None,
                            timeout_s,
                            timestamp_ms=timestamp_ms,
                            headers=list(headers),
                        )
                    )
                else:
                    sent.append(
                        await producer.send(
                            topic,
                            value=value,
                            key=key,
                            headers=list(headers) or None,
                            timestamp_ms=timestamp_ms,
                        )
                    )
            except KafkaError as exc:  # refused by the client itself
                sent.append(exc)
        out: list[tuple[int, int] | Exception] = []
        for item in sent:
            if isinstance(item, Exception):
                out.append(item)
                continue
            try:
                meta = await item
            except KafkaError as exc:  # refused by the broker
                out.append(exc)
            else:
                out.append((meta.partition, meta.offset))
        return out
    finally:
        await producer.stop()


def produce_each(
    bootstrap: str,
    topic: str,
    records: Sequence[FullRecord],
    max_request_size: int = 4 * 2**20,
) -> list[tuple[int, int] | Exception]:
    """Send ``records`` in order, null values and records with no key or value included; return
    each one's (partition, offset), or the error that refused it. ``max_request_size`` is the
    client's own bound (above the broker's, so the broker is the one to refuse a record)."""
    return asyncio.run(_produce_each(bootstrap, topic, records, max_request_size))


async def _topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        return {
            entry[0]: entry[1]
            for response in responses
            for resource in response.resources
            for entry in resource[4]
        }
    finally:
        await admin.close()


def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    """The topic's effective configuration as the broker reports it (``max.message.bytes``:
    the largest record batch it accepts)."""
    return asyncio.run(_topic_config(bootstrap, topic))


async def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        if not parts:
            metadata = await consumer._client.fetch_all_metadata()
            parts = metadata.partitions_for_topic(topic) or set()
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in sorted(parts)])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Each partition's end offset (the number of records it ever held, with no compaction)."""
    return asyncio.run(_end_offsets(bootstrap, topic))


def read_records(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """Every record of ``topic`` as (key, value) bytes, partition by partition."""
    return asyncio.run(_read_all(bootstrap, topic))


def get_page(settings: Settings, path: str) -> tuple[int, dict[str, Any]]:
    """A JSON page of the worker's web server (/healthz, /readyz): its status and body."""
    url = f"http://127.0.0.1:{settings.web_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for_page(
    settings: Settings, path: str, status: int, timeout_s: float = 180
) -> dict[str, Any]:
    """Poll a JSON page until it answers ``status``; its body."""
    deadline_s = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline_s:
        try:
            code, body = get_page(settings, path)
        except OSError as error:  # not listening yet
            last = error
        else:
            if code == status:
                return body
            last = (code, body)
        time.sleep(0.2)
    raise AssertionError(f"{path} never answered {status}: last {last}")
