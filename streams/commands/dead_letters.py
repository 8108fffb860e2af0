"""`paywatch dead-letters`: read `payments-dlq` by reason and time, and export the originals for
`paywatch replay` (streams/deadletter_reader.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
_AGO = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_moment(text: str, option: str, now: datetime | None = None) -> datetime:
    """``30m``, ``2h``, ``7d`` (that long ago) or an ISO date/time (no offset: Vietnam time)."""
    if m := _AGO.fullmatch(text.strip()):
        ago = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
        return (now or datetime.now(UTC)) - ago
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: expected a time such as 2026-11-29T10:00 (Vietnam time unless it has an "
            "offset), 2026-11-29, or an age such as 30m, 2h, 7d",
            param_hint=option,
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)).astimezone(UTC)


def dead_letters(
    reason: Annotated[
        list[str] | None,
        typer.Option(help="only this reason (e.g. malformed_json, unknown_unit); repeatable"),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="written at or after: 2h, 7d, or 2026-11-29T10:00")
    ] = None,
    until: Annotated[str | None, typer.Option(help="written before (same forms)")] = None,
    limit: Annotated[int, typer.Option(help="dead letters listed at most (0: none)")] = 20,
    export: Annotated[
        Path | None,
        typer.Option(help="write the chosen records' original values to this JSON Lines file"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print each chosen dead letter as one JSON line")
    ] = False,
) -> None:
    """Dead letters in payments-dlq: counts by reason, the newest ones, and an export to replay
    (in the order they were written)."""
    import asyncio
    import json
    from collections import Counter

    from aiokafka.errors import KafkaError

    from streams.commands.options import broker_failed, quiet_kafka_clients
    from streams.deadletter_reader import Letter, read_letters, write_originals
    from streams.kafka_security import client_args
    from streams.settings import load_settings

    if limit < 0:
        raise typer.BadParameter(f"{limit}: expected 0 or more", param_hint="--limit")
    start = parse_moment(since, "--since") if since else None
    end = parse_moment(until, "--until") if until else None
    settings = load_settings()
    quiet_kafka_clients()
    topic = settings.topic("payments-dlq")

    async def collect() -> list[Letter]:
        return [letter async for letter in read_letters(client_args(settings), topic, start, end)]

    try:
        letters = asyncio.run(collect())
    except LookupError as exc:
        typer.echo(f"paywatch dead-letters: {exc}; run `paywatch topics` first", err=True)
        raise typer.Exit(2) from None
    except KafkaError as exc:
        raise broker_failed("dead-letters", topic, settings, exc) from None
    by_reason = Counter(letter.reason for letter in letters)
    wanted = set(reason or ())
    chosen = sorted(
        (letter for letter in letters if not wanted or letter.reason in wanted),
        key=lambda x: (x.written, x.partition, x.offset),
    )
    if wanted - set(by_reason):
        seen = ", ".join(sorted(by_reason)) or "none"
        typer.echo(
            f"no dead letter with reason {', '.join(sorted(wanted - set(by_reason)))} in that "
            f"time range (reasons there: {seen})",
            err=True,
        )
    if as_json:
        for letter in chosen:
            typer.echo(json.dumps(letter.as_dict(), ensure_ascii=False))
    else:
        shown = [
            f"{word} {moment.astimezone(VIETNAM):%Y-%m-%d %H:%M:%S}"
            for word, moment in (("from", start), ("before", end))
            if moment is not None
        ]
        window = f" written {' '.join(shown)} (Vietnam time)" if shown else ""
        typer.echo(f"{len(letters)} dead letters in {topic}{window}")
        for name, count in by_reason.most_common():
            typer.echo(f"  {count:>8}  {name}")
        if limit and chosen:
            typer.echo(f"newest {min(limit, len(chosen))} of the {len(chosen)} chosen:")
            for letter in chosen[-limit:]:
                doc = letter.doc
                where = f"{doc.get('topic')}/{doc.get('partition')}@{doc.get('offset')}"
                when = letter.written.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M:%S")
                detail = str(doc.get("detail", ""))[:120]
                typer.echo(f"  {when}  {letter.reason:<18} {where:<28} {detail}")
    if export is not None:
        written, skipped = write_originals(chosen, export)
        typer.echo(f"wrote {written} original records to {export}", err=as_json)
        if skipped:
            typer.echo(
                f"left out {skipped} whose original is not one line of text or was kept only in "
                "part (replay those from their source position)",
                err=True,
            )
