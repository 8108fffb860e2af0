"""Whether a stopped worker's local tables agree with their changelogs.

Faust recovers a table partition by reading its changelog from the offset its local store says
it has read (the persisted offset). So every local store, active or standby, must hold exactly
what its changelog holds up to that offset; a store that misses a row there keeps missing it
after every later recovery, and the worker that takes the partition over counts from the wrong
row. Only for workers stopped cleanly (a killed one may hold rows its changelog never got)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from rocksdict import AccessType, Options, Rdict

#: Where Faust keeps a store's persisted offset, beside the rows.
OFFSET_KEY = b"__faust\x00offset__"
_DB_NAME = re.compile(r"(?P<table>[\w-]+)-(?P<partition>\d+)\.db")


def stale_stores(bootstrap: str, app_id: str, data_dir: Path) -> list[str]:
    """One line per table partition under ``data_dir`` whose store differs from its changelog
    read up to the store's persisted offset (rows missing, different or extra)."""
    problems = []
    for path in sorted(data_dir.glob("v*/tables/*.db")):
        name = _DB_NAME.fullmatch(path.name)
        if name is None:
            continue
        db = Rdict(str(path), Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            store = dict(db.items())
        finally:
            db.close()
        persisted = store.pop(OFFSET_KEY, None)
        if persisted is None:
            continue  # never written
        topic = f"{app_id}-{name['table']}-changelog"
        partition = int(name["partition"])
        wanted = asyncio.run(_replay(bootstrap, topic, partition, int(persisted)))
        missing = wanted.keys() - store.keys()
        extra = store.keys() - wanted.keys()
        different = [k for k in wanted.keys() & store.keys() if wanted[k] != store[k]]
        if missing or extra or different:
            problems.append(
                f"{data_dir.name} {path.name} (read to offset {int(persisted)}): "
                f"{len(missing)} rows missing, {len(different)} different, {len(extra)} extra "
                f"of {len(wanted)}"
            )
    return problems


async def _replay(bootstrap: str, topic: str, partition: int, upto: int) -> dict[bytes, bytes]:
    """The rows of one changelog partition as its records up to offset ``upto`` leave them."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    rows: dict[bytes, bytes] = {}
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = min(upto + 1, (await consumer.end_offsets([tp]))[tp])
        while await consumer.position(tp) < end:
            for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                if record.offset >= end:
                    break
                assert record.key is not None
                if record.value is None:
                    rows.pop(record.key, None)
                else:
                    rows[record.key] = record.value
    finally:
        await consumer.stop()
    return rows
