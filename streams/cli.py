"""The `paywatch` command line: registers the sub-commands, one module each in streams/commands/,
so `paywatch --help` lists everything."""

from __future__ import annotations

from typing import Annotated

import typer

from streams.commands.alert_receiver import alert_receiver
from streams.commands.alerts import alerts
from streams.commands.config import config
from streams.commands.dashboard import dashboard
from streams.commands.dead_letters import dead_letters
from streams.commands.help import Command, Group
from streams.commands.lag import lag
from streams.commands.replay import replay
from streams.commands.report import report
from streams.commands.simulate import simulate
from streams.commands.status import status
from streams.commands.topics import topics
from streams.commands.worker import worker

app = typer.Typer(
    name="paywatch",
    help="Live share of online public-service fee payments per administrative unit.",
    no_args_is_help=True,
    add_completion=False,
    cls=Group,
    rich_markup_mode="markdown",  # joins a docstring's wrapped lines (rich mode keeps them)
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"paywatch {version('paywatch')}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Live share of online public-service fee payments per administrative unit."""


for command in (config, worker, topics, replay, status, report, simulate, lag, dashboard):
    app.command(cls=Command)(command)
app.command(name="dead-letters", cls=Command)(dead_letters)
app.command(cls=Command)(alerts)
app.command(name="alert-receiver", cls=Command)(alert_receiver)


def main() -> None:
    from aiokafka.errors import (
        ClusterAuthorizationFailedError,
        GroupAuthorizationFailedError,
        KafkaConnectionError,
        KafkaTimeoutError,
        TopicAuthorizationFailedError,
    )

    from streams.admin import PartitionCountError

    try:
        app()
    except PartitionCountError as exc:
        raise SystemExit(f"paywatch: {exc}") from None
    except (KafkaConnectionError, KafkaTimeoutError) as exc:
        from streams.preflight import broker_unreachable
        from streams.settings import load_settings

        raise SystemExit(broker_unreachable(load_settings(), exc)) from None
    except (
        TopicAuthorizationFailedError,
        GroupAuthorizationFailedError,
        ClusterAuthorizationFailedError,
    ) as exc:
        from streams.preflight import authorization_refused
        from streams.settings import load_settings

        raise SystemExit(authorization_refused(load_settings(), exc)) from None
