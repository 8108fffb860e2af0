"""`paywatch replay FILE`: backfill past payments from an export (streams/replay.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def replay(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines or CSV export")
    ],
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="produce the valid rows even if some are bad")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="validate only, produce nothing")
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="show a progress bar")
    ] = True,
    wait: Annotated[
        bool, typer.Option("--wait", help="then wait until the workers have counted every event")
    ] = False,
    topic: Annotated[
        str | None,
        typer.Option(
            help="the workers' bulk topic to send to (default: PAYWATCH_TOPIC_PREFIX + "
            "payments-bulk)"
        ),
    ] = None,
) -> None:
    """Backfill past payments from an export: validate every row, then produce to Kafka."""
    import asyncio

    from rich.console import Console

    from streams import replay as backfill
    from streams.exports import ExportError, validate
    from streams.kafka_security import client_args
    from streams.preflight import check_broker
    from streams.settings import load_settings

    console = Console(stderr=True, soft_wrap=True)
    try:
        checked = validate(file)
    except ExportError as exc:
        typer.echo(f"paywatch replay: {exc}", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from None
    for note in checked.notes:
        console.print(f"{file}: {note}", markup=False, highlight=False)
    for bad in checked.bad[:50]:
        console.print(f"{file}:{bad.line}: {bad.message}", markup=False, highlight=False)
    if len(checked.bad) > 50:
        console.print(f"... and {len(checked.bad) - 50} more bad rows")
    typer.echo(f"{checked.rows} rows: {len(checked.events)} valid, {len(checked.bad)} bad")
    if checked.bad and not skip_bad:
        typer.echo("nothing produced; fix the rows above or pass --skip-bad", err=True)
        raise typer.Exit(1)
    if dry_run:
        return
    settings = load_settings()
    topic = topic or settings.topic("payments-bulk")
    kafka = client_args(settings)
    check_broker(settings)
    sent = backfill.Sent(topic)
    try:
        asyncio.run(
            backfill.produce(
                checked.events, kafka, topic, settings.partitions, console, progress, sent
            )
        )
    except KeyboardInterrupt:
        acknowledged = sum(sent.events.values())
        typer.echo(
            f"interrupted: the broker acknowledged {acknowledged} of {len(checked.events)} events "
            f"({len(sent.events)} messages to {topic}); the rest may or may not have gone. "
            "Replaying the whole file again is safe: the stream counts a transaction id once",
            err=True,
        )
        raise typer.Exit(130) from None
    typer.echo(f"produced {len(checked.events)} events to {topic} ({len(sent.events)} messages)")
    if wait:
        stages = [
            settings.topic(t) for t in ("payments-by-tx", "payments-by-dossier", "unit-deltas")
        ]
        try:
            asyncio.run(
                backfill.wait_counted(
                    sent, kafka, settings.app_id, stages, settings.partitions, console, progress
                )
            )
        except KeyboardInterrupt:
            typer.echo(
                f"interrupted while waiting: all {len(checked.events)} events were sent to "
                f"{topic}; the workers count them whether or not this command waits",
                err=True,
            )
            raise typer.Exit(130) from None
        typer.echo(
            f"counted: {settings.app_id}'s workers have counted all {len(checked.events)} events"
        )
