"""The `paywatch` command line: registers the sub-commands, one module each in streams/commands/
(the simulator's in streams/simulator/command.py), so `paywatch --help` lists everything."""

from __future__ import annotations

import typer

from streams.commands.config import config
from streams.commands.dead_letters import dead_letters
from streams.commands.lag import lag
from streams.commands.replay import replay
from streams.commands.report import report
from streams.commands.status import status
from streams.commands.topics import topics
from streams.commands.worker import worker
from streams.simulator.command import simulate

app = typer.Typer(
    name="paywatch",
    help="Live share of online public-service fee payments per administrative unit.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Live share of online public-service fee payments per administrative unit."""


for command in (config, worker, topics, replay, status, report, simulate, lag):
    app.command()(command)
app.command(name="dead-letters")(dead_letters)


def main() -> None:
    app()
