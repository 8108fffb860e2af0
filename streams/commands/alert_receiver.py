"""`paywatch alert-receiver`: the local stack's webhook receiver for Alertmanager
(streams/alert_receiver.py); `make up` starts it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def alert_receiver(
    port: Annotated[
        int | None, typer.Option(help="port to listen on (default: PAYWATCH_ALERT_RECEIVER_PORT)")
    ] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    store: Annotated[
        Path | None, typer.Option(help="keep the alerts in this JSON Lines file across restarts")
    ] = None,
    runbooks: Annotated[
        Path | None, typer.Option(help="the runbooks to serve (default: deploy/runbooks.md)")
    ] = None,
) -> None:
    """Receive Alertmanager's notifications: log each alert, keep them for `paywatch alerts`,
    serve the runbooks the alerts link to."""
    import logging

    from streams.alert_receiver import AlertBook, configured_port, make_server
    from streams.settings import ROOT

    try:
        chosen = port if port is not None else configured_port()
    except ValueError as exc:
        typer.echo(f"paywatch alert-receiver: {exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if store is not None:
        store.parent.mkdir(parents=True, exist_ok=True)
    book = AlertBook(store)
    try:
        server = make_server(host, chosen, book, runbooks or ROOT / "deploy" / "runbooks.md")
    except OSError as exc:
        typer.echo(
            f"paywatch alert-receiver: cannot listen on {host}:{chosen} ({exc.strerror}); "
            "stop what holds it or set PAYWATCH_ALERT_RECEIVER_PORT (or --port)",
            err=True,
        )
        raise typer.Exit(1) from None
    logging.getLogger(__name__).info(
        "alert receiver on http://%s:%d/alerts/<receiver> (%d alerts kept)",
        host,
        chosen,
        len(book.alerts()),
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
