"""`paywatch config`: the effective settings, and the checks a worker makes before it starts."""

from __future__ import annotations

import os

import typer


def config() -> None:
    """Print the effective settings (PAYWATCH_* variables, credentials hidden) and check the
    provinces, the targets folder and the Redis password as a worker does; warn on unknown
    PAYWATCH_* names."""
    from streams.preflight import check_all, unknown_variables
    from streams.settings import SettingsError, load_settings, mask_url

    settings = load_settings()
    for name, value in settings.model_dump().items():
        shown = mask_url(str(value)) if name in {"broker", "redis_url"} else str(value)
        typer.echo(f"PAYWATCH_{name.upper()}={shown}")
    for warning in unknown_variables(os.environ):
        typer.echo(warning, err=True)
    try:
        registry, targets = check_all(settings)
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    provinces = "every province" if settings.province_codes is None else settings.provinces
    typer.echo(
        f"ok: {provinces} ({len(registry.units())} unit versions), "
        f"targets for {', '.join(str(y) for y in targets.years()) or 'no year'}",
        err=True,
    )
