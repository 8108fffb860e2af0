"""`paywatch status`: a table of units from the Redis live view (streams/status.py)."""

from __future__ import annotations

from typing import Annotated

import typer


def status(
    level: Annotated[
        str, typer.Option(help="province, district, commune or department")
    ] = "district",
    parent: Annotated[
        str | None, typer.Option(help="list the units under this unit code instead")
    ] = None,
    province: Annotated[
        str | None, typer.Option(help="province code (default: the first configured)")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(help="2022, 2022-03 or 2022-03-01 (default: the current year)"),
    ] = None,
    kpi: Annotated[str, typer.Option(help="transactions, dossiers or amount")] = "transactions",
    watch: Annotated[bool, typer.Option("--watch", help="refresh until Ctrl-C")] = False,
    interval_s: Annotated[float, typer.Option(help="seconds between refreshes")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Units with ratio, target, gap, trend and rank, read from the Redis live view."""
    import asyncio
    import json
    import time

    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from models.registry import Level
    from sinks.live_reader import Freshness, LiveViewError
    from streams.commands.options import chosen_province, live_reader
    from streams.commands.status_table import status_table
    from streams.preflight import registry_for, targets_for
    from streams.settings import load_settings
    from streams.status import UnitStatus, read_status

    if kpi not in {"transactions", "dossiers", "amount"}:
        raise typer.BadParameter(
            f"{kpi!r}: expected transactions, dossiers or amount", param_hint="--kpi"
        )
    try:
        unit_level = Level(level)
    except ValueError:
        raise typer.BadParameter(
            f"{level!r}: expected province, district, commune or department", param_hint="--level"
        ) from None
    settings = load_settings()
    chosen = chosen_province(settings, province)
    registry = registry_for(settings)
    targets = targets_for(settings, registry)

    async def read() -> tuple[list[UnitStatus], Freshness]:
        async with live_reader(settings, read_timeout_s=5) as view:
            found = await read_status(
                view, registry, chosen, period, unit_level, parent, kpi, targets,
                settings.pinned_day,
            )  # fmt: skip
            return found, await view.freshness(chosen)

    def rows() -> list[UnitStatus]:
        return asyncio.run(read())[0]

    def table() -> Table:
        found, freshness = asyncio.run(read())
        shown = found[0].period if found else period or ""
        return status_table(found, kpi, f"{shown}, {chosen}", freshness)

    console = Console()
    try:
        if as_json:
            typer.echo(json.dumps([r.as_dict() for r in rows()], ensure_ascii=False, indent=2))
        elif not watch:
            console.print(table())
        else:
            with Live(table(), console=console, auto_refresh=False) as live:
                while True:
                    time.sleep(interval_s)
                    live.update(table(), refresh=True)
    except LiveViewError as exc:
        typer.echo(f"paywatch status: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass
