"""What the sub-commands share: the province they read, and quiet Kafka clients."""

from __future__ import annotations

import logging

import typer

from streams.settings import Settings


def chosen_province(settings: Settings, province: str | None) -> str:
    """``--province``, or the first configured province; PAYWATCH_PROVINCES=all needs one."""
    codes = settings.province_codes
    chosen = province or (sorted(codes)[0] if codes else None)
    if chosen is None:
        raise typer.BadParameter("PAYWATCH_PROVINCES is 'all': name one", param_hint="--province")
    return chosen


def quiet_kafka_clients() -> None:
    """Leave aiokafka's own log lines out of a one-shot command's output: it logs each failed
    connection itself ("Unable connect to ..."), and the command says what went wrong once,
    naming the setting to check."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
