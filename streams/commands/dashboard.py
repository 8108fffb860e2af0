"""`paywatch dashboard`: the live web dashboard (dashboard/), read from the Redis live view."""

from __future__ import annotations

import os
from typing import Annotated

import typer


def dashboard(
    port: Annotated[
        int | None, typer.Option(help="port to serve on (default: PAYWATCH_DASHBOARD_PORT)")
    ] = None,
) -> None:
    """Serve the live web dashboard, read from the Redis live view only."""
    from dashboard.server import DashboardConfig, run_dashboard
    from dashboard.settings import load_dashboard_settings
    from streams.preflight import registry_for, targets_for, unknown_variables
    from streams.settings import load_settings

    settings = load_settings()
    own = load_dashboard_settings()
    for warning in unknown_variables(os.environ):
        typer.echo(warning, err=True)
    registry = registry_for(settings)
    codes = settings.province_codes
    config = DashboardConfig(
        host=own.host,
        port=port or own.port,
        redis_url=own.redis_url,
        prefix=settings.redis_prefix,
        registry=registry,
        targets=targets_for(settings, registry),
        province=sorted(codes)[0] if codes else sorted(registry.provinces())[0],
        stale_after_s=own.stale_s,
        pinned_day=settings.pinned_day,
    )
    run_dashboard(config)
