"""`paywatch report`: a province's CSV and chart from Redis (streams/report.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report(
    period: Annotated[str, typer.Argument(help="a month (2022-03) or a year (2022)")],
    province: Annotated[
        str | None, typer.Option(help="province code (default: the first configured)")
    ] = None,
    out_dir: Annotated[Path, typer.Option(help="where to write the CSV and PNG")] = Path("."),
) -> None:
    """A province's monthly or yearly report from Redis: CSV of every unit, PNG chart."""
    import asyncio

    import redis

    from models.periods import period_kind
    from models.registry import Level, Registry, RegistryError
    from sinks.live_reader import LiveViewError
    from streams.commands.options import chosen_province, live_reader
    from streams.report import ReportError, ReportFiles, write_report
    from streams.settings import load_settings

    try:
        period_kind(period)
        if period_kind(period) == "day":
            raise ValueError
    except ValueError:
        raise typer.BadParameter(
            f"{period!r}: a report covers a month (2022-03) or a year (2022)", param_hint="PERIOD"
        ) from None
    settings = load_settings()
    chosen = chosen_province(settings, province)
    try:
        registry = Registry.load({chosen})
    except RegistryError as exc:
        raise typer.BadParameter(str(exc), param_hint="--province") from None
    if not any(u.level is Level.PROVINCE for u in registry.versions(chosen)):
        raise typer.BadParameter(f"{chosen!r} is not a province code", param_hint="--province")

    async def write() -> ReportFiles:
        async with live_reader(settings, read_timeout_s=10) as view:
            await view.check()
            return await write_report(view, registry, chosen, period, out_dir)

    try:
        files = asyncio.run(write())
    except (LiveViewError, ReportError) as exc:
        typer.echo(f"paywatch report: {exc}", err=True)
        raise typer.Exit(2) from None
    except redis.RedisError as exc:
        typer.echo(f"paywatch report: cannot read Redis ({exc}); is the stack up?", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {files.csv} ({files.units} units) and {files.chart}")
