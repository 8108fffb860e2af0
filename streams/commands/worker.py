"""`paywatch worker`: a stream worker."""

from __future__ import annotations

import os

import typer


def worker() -> None:
    """Start a stream worker; workers with the same PAYWATCH_APP_ID share the partitions."""
    from streams.preflight import check_all, check_broker, check_web_port, unknown_variables
    from streams.settings import load_settings
    from streams.worker_process import run_worker

    settings = load_settings()
    for warning in unknown_variables(os.environ):
        typer.echo(warning, err=True)
    check_all(settings)
    check_web_port(settings)
    check_broker(settings)
    run_worker(settings)
