"""Option handling shared by the sub-commands that read one province."""

from __future__ import annotations

import typer

from streams.settings import Settings


def chosen_province(settings: Settings, province: str | None) -> str:
    """``--province``, or the first configured province; PAYWATCH_PROVINCES=all needs one."""
    codes = settings.province_codes
    chosen = province or (sorted(codes)[0] if codes else None)
    if chosen is None:
        raise typer.BadParameter("PAYWATCH_PROVINCES is 'all': name one", param_hint="--province")
    return chosen
