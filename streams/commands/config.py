"""`paywatch config`: the effective settings."""

from __future__ import annotations

import typer


def config() -> None:
    """Print the effective settings (from PAYWATCH_* variables), passwords hidden."""
    from streams.settings import load_settings

    settings = load_settings()
    for name, value in settings.model_dump().items():
        shown = str(value)
        if name == "redis_url":
            shown = hide_password(shown)
        typer.echo(f"PAYWATCH_{name.upper()}={shown}")


def hide_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
