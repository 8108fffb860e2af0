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
def worker() -> None:
    """Start a stream worker; workers with the same PAYWATCH_APP_ID share the partitions."""
    from streams.observe import run_worker
    from streams.settings import load_settings

    run_worker(load_settings())


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
    wait: Annotated[
        bool, typer.Option("--wait", help="then wait until the workers have counted every event")
    ] = False,
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
    topic, bootstrap = settings.topic("payments-bulk"), settings.bootstrap_servers
    sent = asyncio.run(
        backfill.produce(checked.events, bootstrap, topic, settings.partitions, console, progress)
    )
    typer.echo(f"produced {len(checked.events)} events to {topic} ({len(sent.events)} messages)")
    if wait:
        stages = [
            settings.topic(t) for t in ("payments-by-tx", "payments-by-dossier", "unit-deltas")
        ]
        asyncio.run(
            backfill.wait_counted(
                sent, bootstrap, settings.app_id, stages, settings.partitions, console, progress
            )
        )
        typer.echo(
            f"counted: {settings.app_id}'s workers have counted all {len(checked.events)} events"
        )


def _percent(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}"


_TREND_ARROWS = {"up": "↑", "down": "↓", "flat": "→", "": ""}


@app.command()
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
        str | None, typer.Option(help="2022, 2022-03 or 2022-03-01 (default: the newest year)")
    ] = None,
    kpi: Annotated[str, typer.Option(help="transactions, dossiers or amount")] = "transactions",
    watch: Annotated[bool, typer.Option("--watch", help="refresh until Ctrl-C")] = False,
    interval: Annotated[float, typer.Option(help="seconds between refreshes")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Units with ratio, target, gap, trend and rank, read from the Redis live view."""
    import json
    import time

    import redis
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from models.registry import Level, Registry
    from models.targets import Targets
    from streams.settings import load_settings
    from streams.status import LiveView, StatusError, UnitStatus, read_status

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
    codes = settings.province_codes
    chosen = province or (sorted(codes)[0] if codes else None)
    if chosen is None:
        raise typer.BadParameter("PAYWATCH_PROVINCES is 'all': name one", param_hint="--province")
    registry = Registry.load(codes)
    targets = Targets.load(settings.targets_dir, registry)
    client = redis.Redis.from_url(
        settings.redis_url, decode_responses=True, socket_connect_timeout=3, socket_timeout=5
    )
    view = LiveView(client, settings.redis_prefix)

    def rows() -> list[UnitStatus]:
        return read_status(view, registry, chosen, period, unit_level, parent, kpi, targets)

    def table(found: list[UnitStatus]) -> Table:
        shown = found[0].period if found else period or ""
        out = Table(title=f"paywatch — online share ({kpi}), {shown}")
        for column in (
            "rank",
            "code",
            "unit",
            "ratio %",
            "target %",
            "gap pp",
            "trend",
            "online/total",
        ):
            out.add_column(column, justify="left" if column in {"code", "unit"} else "right")
        for row in found:
            out.add_row(
                "—" if row.rank is None else f"{row.rank}/{row.ranked}",
                row.code,
                row.name,
                _percent(row.ratio),
                _percent(row.target),
                _percent(row.gap, signed=True),
                _TREND_ARROWS[row.trend],
                f"{row.transactions_online}/{row.transactions}",
            )
        return out

    console = Console()
    try:
        if as_json:
            typer.echo(json.dumps([r.as_dict() for r in rows()], ensure_ascii=False, indent=2))
        elif not watch:
            console.print(table(rows()))
        else:
            with Live(table(rows()), console=console, auto_refresh=False) as live:
                while True:
                    time.sleep(interval)
                    live.update(table(rows()), refresh=True)
    except StatusError as exc:
        typer.echo(f"paywatch status: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass
    finally:
        client.close()


@app.command()
def report(
    period: Annotated[str, typer.Argument(help="a month (2022-03) or a year (2022)")],
    province: Annotated[
        str | None, typer.Option(help="province code (default: the first configured)")
    ] = None,
    out_dir: Annotated[Path, typer.Option(help="where to write the CSV and PNG")] = Path("."),
) -> None:
    """A province's monthly or yearly report from Redis: CSV of every unit, PNG chart."""
    import redis

    from models.registry import Registry
    from streams.report import write_report
    from streams.settings import load_settings
    from streams.status import LiveView

    settings = load_settings()
    codes = settings.province_codes
    chosen = province or (sorted(codes)[0] if codes else None)
    if chosen is None:
        raise typer.BadParameter("PAYWATCH_PROVINCES is 'all': name one", param_hint="--province")
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=10)
    try:
        view = LiveView(client, settings.redis_prefix)
        files = write_report(view, Registry.load({chosen}), chosen, period, out_dir)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="PERIOD") from None
    except redis.RedisError as exc:
        typer.echo(f"paywatch report: cannot read Redis ({exc}); is the stack up?", err=True)
        raise typer.Exit(2) from None
    finally:
        client.close()
    typer.echo(f"wrote {files.csv} ({files.units} units) and {files.chart}")


def _hide_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


from streams.simulator.command import simulate  # noqa: E402

app.command()(simulate)


def main() -> None:
    app()
