"""`paywatch lag`: how far the workers' consumer group is behind, per topic and partition."""

from __future__ import annotations

from typing import Annotated

import typer


def lag(
    group: Annotated[
        str | None, typer.Option(help="consumer group (default: PAYWATCH_APP_ID)")
    ] = None,
    partitions: Annotated[
        bool, typer.Option("--partitions", help="one line per partition, not per topic")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Consumer lag of the workers: messages on each topic not yet committed by the group."""
    import asyncio
    import json

    from aiokafka.errors import KafkaError
    from rich.console import Console
    from rich.table import Table

    from streams.commands.options import broker_failed, quiet_kafka_clients
    from streams.kafka_security import client_args
    from streams.lag import CONSUMED_TOPICS, consumer_lag
    from streams.settings import load_settings

    settings = load_settings()
    quiet_kafka_clients()
    chosen = group or settings.app_id
    topics = [settings.topic(t) for t in CONSUMED_TOPICS]
    try:
        rows = asyncio.run(consumer_lag(client_args(settings), chosen, topics))
    except KafkaError as exc:
        raise broker_failed("lag", "the consumer group", settings, exc) from None
    if as_json:
        typer.echo(json.dumps({"group": chosen, "partitions": [r.as_dict() for r in rows]}))
        return
    if not rows:
        typer.echo(f"paywatch lag: none of the topics {', '.join(topics)} exists yet", err=True)
        raise typer.Exit(2)
    table = Table(title=f"consumer lag of group {chosen}")
    for column in ("topic", "partition", "committed", "end", "lag"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    if partitions:
        for r in rows:
            shown = "—" if r.committed is None else str(r.committed)
            table.add_row(r.topic, str(r.partition), shown, str(r.end), str(r.lag))
    else:
        for topic in dict.fromkeys(r.topic for r in rows):
            of = [r for r in rows if r.topic == topic]
            done = sum(r.committed or 0 for r in of)
            table.add_row(
                topic,
                str(len(of)),
                str(done),
                str(sum(r.end for r in of)),
                str(sum(r.lag for r in of)),
            )
        table.columns[1].header = "partitions"
    Console(soft_wrap=True).print(table)
    typer.echo(f"total lag: {sum(r.lag for r in rows)} messages")
