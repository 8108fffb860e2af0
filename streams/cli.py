"""The `paywatch` command line. Each sub-command lives in the module that owns its work and is
registered here, so `paywatch --help` lists everything."""

from __future__ import annotations

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


def _hide_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def main() -> None:
    app()
