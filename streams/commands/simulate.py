"""`paywatch simulate`: the portal simulator on the command line."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from streams.simulator.config import DEFAULT_END, DEFAULT_START, SimConfig

__all__ = ["simulate"]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {text!r}") from None


def simulate(
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same records.")
    ] = 1,
    count: Annotated[
        int | None, typer.Option(help="Number of records (default 100000 unless --duration-s).")
    ] = None,
    duration_s: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (with --rate: rate×duration records)."),
    ] = None,
    rate: Annotated[float, typer.Option(help="Records per second; 0 = as fast as possible.")] = 0.0,
    scenario: Annotated[
        str, typer.Option(help="default, bank-outage, late-catch-up or quiet-holiday.")
    ] = "default",
    provinces: Annotated[
        str | None, typer.Option(help="Comma-separated GSO province codes (default: settings).")
    ] = None,
    start: Annotated[str, typer.Option("--from", help="First event date (Vietnam time).")] = str(
        DEFAULT_START
    ),
    end: Annotated[str, typer.Option("--to", help="Last event date (Vietnam time).")] = str(
        DEFAULT_END
    ),
    out: Annotated[
        Path | None,
        typer.Option(help="Write FILE.jsonl and FILE.truth.json instead of producing to Kafka."),
    ] = None,
    topic: Annotated[
        str | None, typer.Option(help="Kafka topic (default: the settings' payments topic).")
    ] = None,
    compression: Annotated[
        str, typer.Option(help="Kafka compression: none, gzip or lz4 (lz4 needs cramjam).")
    ] = "none",
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
) -> None:
    """Simulate the portal: realistic payment records (with duplicates, refunds, late and bad
    records) to Kafka, or to a JSON Lines file with its ground truth beside it."""
    from rich.console import Console

    from models.registry import Registry, RegistryError
    from streams.kafka_security import client_args
    from streams.preflight import check_broker, registry_for
    from streams.settings import load_settings
    from streams.simulator.generator import Simulation
    from streams.simulator.output import Pacer, produce_to_kafka, truth_path, write_jsonl
    from streams.simulator.scenarios import SCENARIOS

    console = Console(stderr=True)
    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    settings = load_settings()
    codes = (
        tuple(c.strip() for c in provinces.split(",") if c.strip())
        if provinces
        else tuple(sorted(settings.province_codes or ()))
    )
    if count is None and duration_s is not None and rate > 0:
        count = int(duration_s * rate)
    elif count is None and duration_s is None:
        count = 100_000
    try:
        config = SimConfig(
            start=_date(start),
            end=_date(end),
            count=count,
            duration_s=duration_s,
            rate=rate,
            provinces=codes or ("17",),
            seed=seed,
            scenario=scenario,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if provinces:
        try:
            registry = Registry.load(config.provinces)
        except RegistryError as exc:
            raise typer.BadParameter(str(exc), param_hint="--provinces") from None
    else:
        registry = registry_for(settings) if codes else Registry.load(config.provinces)
    sim = Simulation(config, registry)
    if out is None:
        check_broker(settings)
    pacer = Pacer(rate, duration_s)
    began_s = time.monotonic()
    with _progress(console, count, quiet) as update:
        if out is not None:
            written = write_jsonl(pacer.pace(sim), out, update)
            sim.truth.write(truth_path(out), config.describe(), sim.scenario.description)
            where = f"{out} (+ {truth_path(out).name})"
        else:
            name = topic or settings.topic("payments")
            written = asyncio.run(
                produce_to_kafka(
                    sim,
                    client_args(settings),
                    name,
                    pacer=pacer,
                    partitions=settings.partitions,
                    compression=None if compression == "none" else compression,
                    progress=update,
                )
            )
            where = f"topic {name} at {settings.bootstrap_servers}"
    elapsed_s = time.monotonic() - began_s
    kinds = sim.truth.kinds
    bad = sum(v for k, v in kinds.items() if k.startswith("malformed:"))
    reversals = kinds.get("reversal", 0) + kinds.get("reversal_before_payment", 0)
    console.print(
        f"[bold]simulated[/] {written:,} records in {elapsed_s:.1f} s "
        f"({written / elapsed_s if elapsed_s else 0:,.0f}/s) -> {where}\n"
        f"  scenario {sim.scenario.name}: {sim.scenario.description}\n"
        f"  payments {kinds.get('payment', 0):,}, reversals {reversals:,} "
        f"({kinds.get('reversal_before_payment', 0):,} before their payment), "
        f"duplicates {kinds.get('duplicate', 0):,}, malformed {bad:,}, "
        f"dead letters {len(sim.truth.dead_letters):,}"
    )


class _progress:
    """A rich progress bar (or nothing), handing out an update(count) callback."""

    def __init__(self, console: object, total: int | None, quiet: bool) -> None:
        self.console = console
        self.total = total
        self.quiet = quiet
        self.bar: object | None = None

    def __enter__(self) -> Callable[[int], None]:
        if self.quiet:
            return lambda _: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        assert isinstance(self.console, Console)
        bar = Progress(
            TextColumn("simulate"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        bar.start()
        self.bar = bar
        task = bar.add_task("simulate", total=self.total, speed="0")
        began_s = time.monotonic()

        def update(done: int) -> None:
            elapsed_s = time.monotonic() - began_s
            bar.update(task, completed=done, speed=f"{done / elapsed_s if elapsed_s else 0:,.0f}")

        return update

    def __exit__(self, *exc: object) -> None:
        from rich.progress import Progress

        if isinstance(self.bar, Progress):
            self.bar.stop()
