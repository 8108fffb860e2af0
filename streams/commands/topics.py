"""`paywatch topics`: create the external topics."""

from __future__ import annotations

import typer


def topics() -> None:
    """Create the external topics (payments, payments-dlq) if they do not exist yet."""
    from streams.admin import create_topics
    from streams.preflight import check_broker, quiet_kafka_client
    from streams.settings import load_settings

    settings = load_settings()
    check_broker(settings)
    with quiet_kafka_client():
        created = create_topics(settings)
    for name in created:
        typer.echo(f"created topic {name} ({settings.partitions} partitions)")
    if not created:
        typer.echo("topics already exist")
