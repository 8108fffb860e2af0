"""The `paywatch` command line. Each sub-command lives in the module that owns its work and is
registered here, so `paywatch --help` lists everything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="paywatch",
    help="Live share of online public-service fee payments per administrative unit.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Live share of online public-service fee payments per administrative unit."""


@app.command()
def config() -> None:
    """Print the effective settings (from PAYWATCH_* variables), passwords hidden."""
    from streams.settings import load_settings

    settings = load_settings()
    for name, value in settings.model_dump().items():
        shown = str(value)
        if name == "redis_url":
            shown = _hide_password(shown)
        typer.echo(f"PAYWATCH_{name.upper()}={shown}")


@app.command()
def topics() -> None:
    """Create the external topics (payments, payments-dlq) if they do not exist yet."""
    from streams.admin import create_topics
    from streams.settings import load_settings

    settings = load_settings()
    created = create_topics(settings)
    for name in created:
        typer.echo(f"created topic {name} ({settings.partitions} partitions)")
    if not created:
        typer.echo("topics already exist")


@app.command()
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
) -> None:
    """Backfill past payments from an export: validate every row, then produce to Kafka."""
    import asyncio

    from rich.console import Console

    from streams import replay as backfill
    from streams.settings import load_settings

    console = Console(stderr=True, soft_wrap=True)
    try:
        checked = backfill.validate(file)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from None
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
    topic = settings.topic("payments")
    asyncio.run(
        backfill.produce(checked.events, settings.bootstrap_servers, topic, console, progress)
    )
    typer.echo(f"produced {len(checked.events)} events to {topic}")


def _hide_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def main() -> None:
    app()
