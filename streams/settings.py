"""Runtime settings, read from PAYWATCH_* environment variables and checked at start-up.

Defaults match the local stack that `make up` starts (deploy/local/), so a worker started there
needs no configuration at all.
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(SystemExit):
    """A configuration a person must fix before paywatch can start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYWATCH_", frozen=True, extra="ignore")

    app_id: str = Field(
        "paywatch",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Faust app id = Kafka consumer group; workers with the same id share the work",
    )
    broker: str = Field(
        "kafka://127.0.0.1:9092",
        description="Kafka bootstrap servers: kafka://HOST:PORT URLs, ';'-separated",
    )
    topic_prefix: str = Field(
        "",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="prefix for every topic name (tests use it for isolation)",
    )
    partitions: int = Field(
        6,
        ge=1,
        le=1024,
        description="partitions of the topics paywatch creates; bounds the number of busy "
        "workers and cannot change without rebuilding the tables (docs/operations.md)",
    )
    store: str = Field("rocksdb://", description="table store: rocksdb:// or memory://")
    data_dir: Path = Field(
        ROOT / ".stack" / "worker",
        description="where a worker keeps its RocksDB tables and failed-steps.json; one per worker",
    )
    web_host: str = Field(
        "127.0.0.1", description="address of the worker's web server (/metrics, /counters/)"
    )
    web_port: int = Field(
        6066,
        ge=1,
        le=65535,
        description="port of the worker's web server: /metrics, and /counters/ (this worker's "
        "counter rows as JSON; ?unit=148,04789&period=2022,2022-03 for only those)",
    )
    redis_url: str = Field(
        "redis://:paywatch-local@127.0.0.1:6380/0",
        description="Redis for the live view: redis://[:PASSWORD@]HOST:PORT/DB, rediss:// for TLS",
    )
    redis_prefix: str = Field(
        "pw", pattern=r"^[A-Za-z0-9._-]+$", description="prefix of every Redis key"
    )
    provinces: str = Field(
        "17",
        description="provinces to count: two-digit GSO codes, comma-separated, or 'all'. Hòa "
        "Bình (17) is the seed case; its territory is part of Phú Thọ (25) from 1 July 2025, so "
        "a live deployment there uses 17,25",
    )
    targets_dir: Path = Field(
        ROOT / "deploy" / "targets",
        description="the targets files, one YAML per year (docs/units-and-targets.md)",
    )
    dedup_retention_days: int = Field(
        400,
        ge=1,
        le=3650,
        description="days of event time a transaction id is remembered for deduplication "
        "(docs/exactness.md)",
    )
    processing_guarantee: str = Field(
        "at_least_once",
        description="Faust's guarantee, and its only accepted value: the counts are exact with "
        "it; exactly_once (Faust's Kafka transactions) breaks on this topology and stops "
        "start-up with a message (docs/exactness.md)",
    )
    batch_size: int = Field(1000, ge=1, le=100_000, description="events per agent step")
    step_max_bytes: int = Field(
        4_194_304,
        ge=1024,
        le=104_857_600,
        description="bytes of message values that close an agent step early: a message of "
        "`payments-bulk` (paywatch replay) or of the internal topics holds hundreds of events, "
        "and this bounds a step's memory; in a backfill, larger steps send fuller messages "
        "between the stages, which the dossier stage sums into fewer deltas per unit",
    )
    batch_within_s: float = Field(
        0.05, gt=0, le=10, description="seconds to wait to fill an agent step"
    )
    standby_replicas: int = Field(
        1, ge=0, le=3, description="warm copies of each table on other workers, for fail-over"
    )
    checkpoint_interval_s: float = Field(
        1.0,
        gt=0,
        le=60,
        description="seconds between checkpoints, which make each agent's state durable and "
        "release its events (docs/exactness.md); a longer interval writes fewer changelog "
        "messages and replays more after a crash",
    )
    fetch_min_bytes: int = Field(
        65_536,
        ge=1,
        le=52_428_800,
        description="bytes the broker gathers before it answers a fetch (up to "
        "PAYWATCH_FETCH_MAX_WAIT_MS): on a quiet stream, fewer fetches and fewer, fuller steps",
    )
    fetch_max_wait_ms: int = Field(
        500,
        ge=0,
        le=10_000,
        description="milliseconds the broker may hold a fetch for PAYWATCH_FETCH_MIN_BYTES; each "
        "of the three stages may wait this long on a quiet stream",
    )
    checkpoint_events: int = Field(
        20_000, ge=1, le=1_000_000, description="held events that make a checkpoint due sooner"
    )
    crash_loop_limit: int = Field(
        3,
        ge=1,
        le=100,
        description="failed steps over the same records before they are replayed one record at "
        "a time and the culprit is dead-lettered as quarantined (docs/exactness.md)",
    )
    log_level: str = Field(
        "warning",
        pattern=r"^(debug|info|warning|error)$",
        description="the worker's log level: debug, info, warning or error",
    )
    instance_id: str = Field(
        "",
        description="this worker's static member id in the consumer group, unique to it; empty: "
        "derived from the host name and PAYWATCH_DATA_DIR (streams/membership.py)",
    )
    session_timeout_s: float = Field(
        8.0,
        ge=6,
        le=90,
        description="seconds without a heartbeat before the group gives a worker's partitions "
        "to the others (at least Kafka's group.min.session.timeout.ms, 6 s by default; at most "
        "Faust's request timeout, 90 s)",
    )

    kafka_security_protocol: Literal["PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description="PLAINTEXT (no authentication: only the local stack's test listener) or "
        "SASL_SSL (SCRAM-SHA-512 over TLS; docs/security.md)",
    )
    kafka_sasl_username: str = Field("", description="the SCRAM-SHA-512 user (SASL_SSL)")
    kafka_sasl_password: SecretStr = Field(
        SecretStr(""), description="its password; prefer PAYWATCH_KAFKA_SASL_PASSWORD_FILE"
    )
    # Files as plain strings, "" for none: a dump of the settings into the environment
    # (str(value)) gives them back unchanged.
    kafka_sasl_password_file: str = Field(
        "", description="a file holding the SCRAM password (a mounted secret)"
    )
    kafka_ca_file: str = Field(
        "",
        description="PEM file of the CA that signed the broker's certificate; empty: the "
        "system's trusted CAs",
    )
    redis_password_file: str = Field(
        "", description="a file holding the Redis password; replaces PAYWATCH_REDIS_URL's"
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

    @field_validator("kafka_sasl_password_file", "kafka_ca_file", "redis_password_file")
    @classmethod
    def _readable_file(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        try:
            with Path(value).open("rb"):
                pass
        except OSError as exc:
            raise ValueError(
                f"cannot read it ({exc.strerror or exc}); give a readable file"
            ) from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _redis_password_from_file(cls, data: Any) -> Any:
        """PAYWATCH_REDIS_PASSWORD_FILE's first line becomes PAYWATCH_REDIS_URL's password, so
        every Redis client (the worker's live view, status, report, the checks) uses it. The URL
        is only ever shown through :func:`mask_url`."""
        if not isinstance(data, dict) or not str(data.get("redis_password_file") or "").strip():
            return data
        path = Path(str(data["redis_password_file"]).strip())
        secret = _first_line(path, "PAYWATCH_REDIS_PASSWORD_FILE")
        url = str(data.get("redis_url") or cls.model_fields["redis_url"].default)
        parts = urlsplit(url)
        user = quote(parts.username or "", safe="")
        host = parts.netloc.rpartition("@")[2]
        netloc = f"{user}:{quote(secret, safe='')}@{host}"
        return {**data, "redis_url": urlunsplit(parts._replace(netloc=netloc))}

    @model_validator(mode="after")
    def _kafka_credentials(self) -> Settings:
        if self.kafka_security_protocol != "SASL_SSL":
            return self
        if not self.kafka_sasl_username:
            raise ValueError(
                "PAYWATCH_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs PAYWATCH_KAFKA_SASL_USERNAME"
            )
        if not self.kafka_sasl_password_file and not self.kafka_sasl_password.get_secret_value():
            raise ValueError(
                "PAYWATCH_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs a password: "
                "PAYWATCH_KAFKA_SASL_PASSWORD_FILE (a file holding it) or "
                "PAYWATCH_KAFKA_SASL_PASSWORD"
            )
        return self

    def environment(self) -> dict[str, str]:
        """These settings as the PAYWATCH_* variables that give them to a child process: unset
        optional ones left out, secrets in clear (they are the child's own credentials)."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"PAYWATCH_{name.upper()}"] = str(value)
        return env

    @property
    def kafka_sasl_secret(self) -> str:
        """The SCRAM password: PAYWATCH_KAFKA_SASL_PASSWORD_FILE's first line, read at each call
        (a rotated secret is picked up by the next client), else PAYWATCH_KAFKA_SASL_PASSWORD."""
        if self.kafka_sasl_password_file:
            return _first_line(
                Path(self.kafka_sasl_password_file), "PAYWATCH_KAFKA_SASL_PASSWORD_FILE"
            )
        return self.kafka_sasl_password.get_secret_value()

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
        # (docs/exactness.md); the stages are exact under at_least_once by their idempotence.
        if value != "at_least_once":
            raise ValueError(
                "only at_least_once is supported: Faust's exactly_once cannot span paywatch's "
                "repartition topics, and the counts are exact without it (docs/exactness.md)"
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


def mask_url(url: str) -> str:
    """``url`` with its user name and password replaced by ``***`` (each of a ``;`` list)."""
    masked = []
    for one in url.split(";"):
        parts = urlsplit(one)
        if parts.username is None and parts.password is None:
            masked.append(one)
            continue
        host = parts.netloc.rpartition("@")[2]
        masked.append(urlunsplit(parts._replace(netloc=f"***@{host}")))
    return ";".join(masked)


def _first_line(path: Path, variable: str) -> str:
    try:
        return path.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, UnicodeDecodeError, IndexError) as exc:
        raise SettingsError(
            f"paywatch: {variable}={path}: cannot read a secret from it "
            f"({type(exc).__name__}); give a readable file whose first line is the secret"
        ) from None


#: Variables renamed to say their unit: one still set under its old name stops start-up (it
#: would be ignored, and its default used without a word).
RENAMED: Final = {
    "PAYWATCH_BATCH_WITHIN": "PAYWATCH_BATCH_WITHIN_S",
    "PAYWATCH_SESSION_TIMEOUT": "PAYWATCH_SESSION_TIMEOUT_S",
}


def load_settings() -> Settings:
    """Read the settings, or stop with a message that names each bad variable and its value
    (never a secret's)."""
    renamed = [
        f"  {old} is now {new} (the same value, in seconds): rename the variable"
        for old, new in RENAMED.items()
        if old in os.environ
    ]
    if renamed:
        raise SettingsError("paywatch: bad configuration\n" + "\n".join(renamed))
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            if not field:  # a check across fields names its variables itself
                lines.append(f"  {err['msg'].removeprefix('Value error, ')}")
                continue
            value = err.get("input")
            if field == "kafka_sasl_password":
                shown = "***"
            elif field in {"broker", "redis_url"} and isinstance(value, str):
                shown = repr(mask_url(value))
            else:
                shown = repr(value)
            lines.append(f"  PAYWATCH_{field.upper()}={shown}: {err['msg']}")
        raise SettingsError("paywatch: bad configuration\n" + "\n".join(lines)) from None
