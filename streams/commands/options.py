"""What the sub-commands share: the province they read, the live view's reader, quiet Kafka
clients and how they say that the broker failed them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import typer

from streams.settings import Settings

if TYPE_CHECKING:
    from sinks.live_reader import LiveReader


def chosen_province(settings: Settings, province: str | None) -> str:
    """``--province``, or the first configured province; PAYWATCH_PROVINCES=all needs one."""
    codes = settings.province_codes
    chosen = province or (sorted(codes)[0] if codes else None)
    if chosen is None:
        raise typer.BadParameter("PAYWATCH_PROVINCES is 'all': name one", param_hint="--province")
    return chosen


@asynccontextmanager
async def live_reader(settings: Settings, read_timeout_s: float) -> AsyncIterator[LiveReader]:
    """The Redis live view's reader, on a connection closed when the block ends."""
    import redis.asyncio as aioredis

    from sinks.live_reader import LiveReader

    client = aioredis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=3,
        socket_timeout=read_timeout_s,
    )
    try:
        yield LiveReader(client, settings.redis_prefix)
    finally:
        await client.aclose()


def quiet_kafka_clients() -> None:
    """Leave aiokafka's own log lines out of a one-shot command's output: it logs each failed
    connection itself ("Unable connect to ..."), and the command says what went wrong once,
    naming the setting to check."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def broker_failed(command: str, reading: str, settings: Settings, exc: BaseException) -> typer.Exit:
    """Say on stderr why ``command`` could not read ``reading`` from the broker (a security
    setting to fix, else the broker's address to check); the exit to raise."""
    from streams.preflight import kafka_problem

    problem = kafka_problem(settings, exc)
    typer.echo(
        problem
        or (
            f"paywatch {command}: cannot read {reading} from the broker at "
            f"{settings.bootstrap_servers} ({type(exc).__name__}); is Kafka up? "
            "Check PAYWATCH_BROKER."
        ),
        err=True,
    )
    return typer.Exit(2)
