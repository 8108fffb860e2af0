"""The dashboard's own settings (PAYWATCH_DASHBOARD_*); which keys, units and targets it shows
come from the workers' settings (PAYWATCH_REDIS_PREFIX, PAYWATCH_PROVINCES,
PAYWATCH_TARGETS_DIR), so both read the same live view."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DashboardSettings", "load_dashboard_settings"]


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYWATCH_DASHBOARD_", frozen=True, extra="ignore")

    host: str = Field("127.0.0.1", description="address the dashboard serves on")
    port: int = Field(6070, ge=1, le=65535, description="port the dashboard serves on")
    redis_url: str = Field(
        "redis://paywatch-dashboard:paywatch-dashboard-local@127.0.0.1:6380/0",
        description="Redis as the dashboard's own user, which may only read the live view "
        "(docs/dashboard.md); rediss:// for TLS",
    )
    stale_s: float = Field(
        120.0,
        gt=0,
        le=86_400,
        description="seconds without an update before the page's banner warns",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("expected redis://USER:PASSWORD@HOST:PORT/DB or rediss:// for TLS")
        return value


def load_dashboard_settings() -> DashboardSettings:
    """Read them, or stop with a message that names each bad variable and its value."""
    try:
        return DashboardSettings()
    except ValidationError as exc:
        lines = [
            f"  PAYWATCH_DASHBOARD_{'.'.join(map(str, e['loc'])).upper()}={e.get('input')!r}: "
            f"{e['msg']}"
            for e in exc.errors()
        ]
        raise SystemExit("paywatch dashboard: bad configuration\n" + "\n".join(lines)) from None
