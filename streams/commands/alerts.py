"""`paywatch alerts`: the alerts the local receiver got from Alertmanager
(`paywatch alert-receiver`)."""

from __future__ import annotations

from typing import Annotated

import typer


def alerts(
    receiver: Annotated[
        str | None, typer.Option(help="only this receiver (ops-oncall, district-17-148, ...)")
    ] = None,
    limit: Annotated[int, typer.Option(help="the newest N alerts")] = 20,
    url: Annotated[
        str | None,
        typer.Option(help="the receiver (default: http://127.0.0.1:PAYWATCH_ALERT_RECEIVER_PORT)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Alerts that reached the local receiver, newest last: status, severity, name, unit,
    summary and runbook."""
    import json
    import urllib.error
    import urllib.parse
    import urllib.request
    from datetime import datetime

    from models.periods import VN_TZ
    from streams.alert_receiver import configured_port, describe

    try:
        base = url or f"http://127.0.0.1:{configured_port()}"
    except ValueError as exc:
        typer.echo(f"paywatch alerts: {exc}", err=True)
        raise typer.Exit(2) from None
    query = f"?{urllib.parse.urlencode({'receiver': receiver})}" if receiver else ""
    try:
        with urllib.request.urlopen(f"{base}/alerts{query}", timeout=10) as response:
            found = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        typer.echo(
            f"paywatch alerts: no alert receiver answers at {base} ({exc}); start the local "
            "stack (make up) or set PAYWATCH_ALERT_RECEIVER_PORT (or --url)",
            err=True,
        )
        raise typer.Exit(2) from None
    shown = found[-limit:] if limit > 0 else []
    if as_json:
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    if not found:
        typer.echo(f"no alert has reached {base} yet")
        return
    for entry in shown:
        when = datetime.fromisoformat(entry["received"].replace("Z", "+00:00")).astimezone(VN_TZ)
        typer.echo(f"{when:%Y-%m-%d %H:%M:%S} {describe(entry)}")
    if len(found) > len(shown):
        typer.echo(f"({len(found) - len(shown)} older alerts not shown; --limit N)")
