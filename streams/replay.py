"""`paywatch replay FILE`: backfill past payments from a JSON Lines or CSV export.

Every row is validated first (the same decoder the stream uses); bad rows are reported with
their line numbers and nothing is produced unless the caller asks to skip them. Valid rows go
to the payments topic keyed by transaction id, with their own event times, so periods come out
as they were. Replaying the same file twice changes no counter: the stream deduplicates by
transaction id.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from models.events import EventError, PaymentEvent, decode_event, encode_event

#: CSV cells that hold JSON integers (everything else is a string; an empty cell is absent).
_INTEGER_COLUMNS = frozenset({"schema_version", "amount"})


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str
    message: str


@dataclass
class Validated:
    events: list[PaymentEvent] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    rows: int = 0


def file_format(path: Path) -> str:
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if suffixes.endswith(".csv"):
        return "csv"
    raise ValueError(f"{path}: unknown export format (expected .jsonl, .ndjson or .csv)")


def _csv_cell(column: str, cell: str) -> object:
    if column in _INTEGER_COLUMNS:
        try:
            return int(cell)
        except ValueError:
            return cell  # the decoder reports it as the wrong type, naming the value
    return cell


def raw_rows(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw JSON bytes) for every data row of the export."""
    if file_format(path) == "jsonl":
        with path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield number, line.strip()
        return
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            document = {
                column: _csv_cell(column, cell)
                for column, cell in row.items()
                if column is not None and cell not in (None, "")
            }
            yield reader.line_num, json.dumps(document, ensure_ascii=False).encode()


def validate(path: Path) -> Validated:
    result = Validated()
    for line, raw in raw_rows(path):
        result.rows += 1
        try:
            result.events.append(decode_event(raw))
        except EventError as exc:
            result.bad.append(BadRow(line, exc.reason, str(exc)))
    return result


async def produce(
    events: list[PaymentEvent], bootstrap: str, topic: str, console: Console, progress: bool
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        columns = (
            TextColumn("replay"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8.0f} events/s"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, disable=not progress) as bar:
            task = bar.add_task("replay", total=len(events), rate=0.0)
            started = asyncio.get_running_loop().time()
            pending = []
            for done, event in enumerate(events, start=1):
                pending.append(
                    await producer.send(
                        topic, encode_event(event), key=event.transaction_id.encode()
                    )
                )
                if done % 2000 == 0 or done == len(events):
                    await asyncio.gather(*pending)
                    pending.clear()
                    elapsed = asyncio.get_running_loop().time() - started
                    bar.update(task, completed=done, rate=done / elapsed if elapsed else 0.0)
    finally:
        await producer.stop()
