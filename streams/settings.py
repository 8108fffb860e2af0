"""Runtime settings, read from PAYWATCH_* environment variables and checked at start-up.

Defaults match the local stack that `make up` starts (deploy/local/), so a worker started there
needs no configuration at all.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(SystemExit):
    """A configuration a person must fix before paywatch can start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYWATCH_", frozen=True, extra="ignore")

    app_id: str = Field("paywatch", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    broker: str = "kafka://127.0.0.1:9092"
    topic_prefix: str = Field("", pattern=r"^[A-Za-z0-9._-]*$")
    partitions: int = Field(6, ge=1, le=1024)
    store: str = "rocksdb://"
    data_dir: Path = ROOT / ".stack" / "worker"
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    redis_url: str = "redis://:paywatch-local@127.0.0.1:6380/0"
    redis_prefix: str = Field("pw", pattern=r"^[A-Za-z0-9._-]+$")
    provinces: str = Field("17", description="comma-separated GSO province codes, or 'all'")
    targets_dir: Path = ROOT / "deploy" / "targets"
    dedup_retention_days: int = Field(400, ge=1, le=3650)
    processing_guarantee: str = "at_least_once"
    batch_size: int = Field(1000, ge=1, le=100_000, description="events per stream step")
    batch_within: float = Field(0.05, gt=0, le=10, description="seconds to fill a step")
    standby_replicas: int = Field(1, ge=0, le=3)
    checkpoint_interval_s: float = Field(
        1.0, gt=0, le=60, description="seconds between checkpoints of an agent's state"
    )
    checkpoint_events: int = Field(
        20_000, ge=1, le=1_000_000, description="events that make a checkpoint due sooner"
    )
    crash_loop_limit: int = Field(
        3, ge=1, le=100, description="failures in a row before a step is replayed record by record"
    )
    log_level: str = Field("warning", pattern=r"^(debug|info|warning|error)$")
    instance_id: str = Field(
        "",
        description="this worker's static member id in the consumer group, unique to it; empty: "
        "derived from the host name and PAYWATCH_DATA_DIR (streams/membership.py)",
    )
    session_timeout: float = Field(
        8.0,
        ge=6,
        le=90,
        description="seconds without a heartbeat before the group gives a worker's partitions "
        "to the others (at least Kafka's group.min.session.timeout.ms, 6 s by default; at most "
        "Faust's request timeout, 90 s)",
    )

    current_day: str = Field(
        "",
        description="pin the current day (YYYY-MM-DD) of the year/month/day gauges and of "
        "`paywatch status`; empty: follow the bulk of recent event times (docs/event-time.md)",
    )
    future_tolerance_s: float = Field(
        600.0,
        ge=0,
        le=30 * 86_400,
        description="seconds an event time may be ahead of the wall clock before the event is "
        "flagged as future-dated (docs/event-time.md)",
    )

    @field_validator("current_day")
    @classmethod
    def _current_day(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                date.fromisoformat(value)
                if len(value) != 10:
                    raise ValueError(value)
            except ValueError:
                raise ValueError(
                    f"expected a day such as 2022-12-31, or empty to follow the events, got "
                    f"{value!r}"
                ) from None
        return value

    @cached_property
    def pinned_day(self) -> date | None:
        """The day PAYWATCH_CURRENT_DAY pins, or None (follow the events)."""
        return date.fromisoformat(self.current_day) if self.current_day else None

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        for url in value.split(";"):
            parts = urlsplit(url)
            if parts.scheme not in {"kafka", "aiokafka"} or not parts.hostname or not parts.port:
                raise ValueError(f"expected kafka://HOST:PORT, got {url!r}")
        return value

    @field_validator("processing_guarantee")
    @classmethod
    def _guarantee(cls, value: str) -> str:
        # Faust's exactly_once (Kafka transactions) cannot hold across repartition topics
        # (README, "Exactness"); the stages are exact under at_least_once by their idempotence.
        if value != "at_least_once":
            raise ValueError(
                "only at_least_once is supported: Faust's exactly_once cannot span paywatch's "
                "repartition topics, and the counts are exact without it (README, Exactness)"
            )
        return value

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str) -> str:
        if value not in {"rocksdb://", "memory://"}:
            raise ValueError(f"expected rocksdb:// or memory://, got {value!r}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("expected redis://[:PASSWORD@]HOST:PORT/DB or rediss:// for TLS")
        return value

    @field_validator("instance_id")
    @classmethod
    def _instance_id(cls, value: str) -> str:
        # Kafka's own rule for group.instance.id (JoinGroupRequest.validateGroupInstanceId).
        value = value.strip()
        if value and (not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", value) or value in {".", ".."}):
            raise ValueError(
                "expected up to 249 letters, digits, '.', '_' or '-', unique to this worker (or "
                f"empty for one derived from the host name and PAYWATCH_DATA_DIR), got {value!r}"
            )
        return value

    @field_validator("provinces")
    @classmethod
    def _provinces(cls, value: str) -> str:
        value = value.strip()
        if value == "all":
            return value
        codes = [c.strip() for c in value.split(",") if c.strip()]
        if not codes or not all(c.isdigit() and len(c) == 2 for c in codes):
            raise ValueError(
                f"expected 'all' or two-digit GSO codes such as '17' or '17,25', got {value!r}"
            )
        return ",".join(codes)

    @cached_property
    def province_codes(self) -> frozenset[str] | None:
        """The configured provinces, or None for the whole country."""
        return None if self.provinces == "all" else frozenset(self.provinces.split(","))

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def bootstrap_servers(self) -> str:
        """The broker list as aiokafka wants it (host:port,host:port)."""
        # host:port only: a user name or password in the URL must not reach logs or errors
        return ",".join(urlsplit(url).netloc.rpartition("@")[2] for url in self.broker.split(";"))


def load_settings() -> Settings:
    """Read the settings, or stop with a message that names each bad variable and its value."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            lines.append(f"  PAYWATCH_{field.upper()}={err.get('input')!r}: {err['msg']}")
        raise SettingsError("paywatch: bad configuration\n" + "\n".join(lines)) from None
