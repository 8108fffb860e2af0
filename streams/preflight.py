"""Checks of what the settings point at, before a command uses it, and the messages a person
acts on when something is wrong: each names the variable, its value and what to do.

`paywatch worker` runs every check before it starts, `paywatch config` runs them and reports,
and `paywatch`'s entry point turns an unreachable broker into :func:`broker_unreachable`'s
message instead of a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import difflib
import errno
import logging
import socket
import ssl
from collections.abc import Iterator, Mapping
from urllib.parse import urlsplit

import redis
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from models.registry import Registry, RegistryError
from models.targets import TargetError, Targets
from streams.kafka_security import client_args, client_options
from streams.settings import RENAMED, Settings, SettingsError, mask_url

#: PAYWATCH_* variables read by the local stack's scripts, the Makefile, the tests and the
#: benchmarks rather than by :class:`Settings`; anything else is unknown (a likely typo).
SCRIPT_VARIABLES = frozenset(
    {
        "PAYWATCH_STACK_DIR",
        "PAYWATCH_KAFKA_VERSION",
        "PAYWATCH_KAFKA_PORT",
        "PAYWATCH_KAFKA_CONTROLLER_PORT",
        "PAYWATCH_KAFKA_SASL_PORT",
        "PAYWATCH_KAFKA_TEST_PLAINTEXT",
        "PAYWATCH_REDIS_DEFAULT_USER",
        "PAYWATCH_REDIS_PORT",
        "PAYWATCH_REDIS_PASSWORD",
        "PAYWATCH_PROMETHEUS_PORT",
        "PAYWATCH_ALERTMANAGER_PORT",
        "PAYWATCH_ALERTMANAGER_CLUSTER_PORT",
        "PAYWATCH_ALERT_RECEIVER_PORT",
        "PAYWATCH_SIM_RATE",
        "PAYWATCH_SIM_DURATION_S",
        "PAYWATCH_RESTART",
        "PAYWATCH_RESTART_DELAY_S",
        "PAYWATCH_RESTART_DELAY_MAX_S",
        "PAYWATCH_RESTART_RESET_S",
        "PAYWATCH_LOG_MAX_MB",
        "PAYWATCH_LOG_BACKUPS",
    }
)
#: Variables renamed to say their unit, the settings' and deploy/local/supervise.sh's and
#: stack.sh's: each still set under its old name is named with its new one (the worker, the
#: supervisor and the local stack stop).
RENAMED_VARIABLES = {
    **RENAMED,
    "PAYWATCH_RESTART_DELAY": "PAYWATCH_RESTART_DELAY_S",
    "PAYWATCH_RESTART_DELAY_MAX": "PAYWATCH_RESTART_DELAY_MAX_S",
    "PAYWATCH_RESTART_RESET": "PAYWATCH_RESTART_RESET_S",
    "PAYWATCH_SIM_DURATION": "PAYWATCH_SIM_DURATION_S",
}
#: Prefixes of the live dashboard's, the test suite's and the benchmarks' own variables.
SCRIPT_PREFIXES = ("PAYWATCH_DASHBOARD_", "PAYWATCH_TEST_", "PAYWATCH_BENCH_")

_FIX_TARGETS = "point it at a folder of <year>.yaml files (the shipped ones are in deploy/targets)"


def _config_error(variable: str, value: object, problem: str, fix: str) -> SettingsError:
    return SettingsError(f"paywatch: {variable}={value!s}: {problem}; {fix}")


def registry_for(settings: Settings) -> Registry:
    """The unit registry of the configured provinces."""
    try:
        return Registry.load(settings.province_codes)
    except RegistryError as exc:
        raise _config_error(
            "PAYWATCH_PROVINCES",
            settings.provinces,
            str(exc),
            "set it to GSO province codes such as 17 or 17,25, or to all",
        ) from None


def targets_for(settings: Settings, registry: Registry) -> Targets:
    """The targets in PAYWATCH_TARGETS_DIR, checked against ``registry``."""
    try:
        return Targets.load(settings.targets_dir, registry)
    except TargetError as exc:
        fix = f"fix that file, or {_FIX_TARGETS}"
        if not settings.targets_dir.is_dir():
            fix = _FIX_TARGETS
        raise _config_error("PAYWATCH_TARGETS_DIR", settings.targets_dir, str(exc), fix) from None


def check_web_port(settings: Settings) -> None:
    """The worker's web server (/metrics) can listen on PAYWATCH_WEB_HOST:PAYWATCH_WEB_PORT."""
    probe = socket.socket(socket.AF_INET6 if ":" in settings.web_host else socket.AF_INET)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
    try:
        probe.bind((settings.web_host, settings.web_port))
    except OSError as exc:
        where = f"{settings.web_host}:{settings.web_port}"
        if exc.errno == errno.EADDRINUSE:
            problem = f"{where} is already in use (another worker on this host?)"
        else:
            problem = f"cannot listen on {where} ({exc.strerror})"
        raise _config_error(
            "PAYWATCH_WEB_PORT",
            settings.web_port,
            problem,
            "stop what uses it, or give each worker its own PAYWATCH_WEB_PORT",
        ) from None
    finally:
        probe.close()


def check_redis_password(settings: Settings) -> None:
    """Redis accepts PAYWATCH_REDIS_URL's password. Redis being down is no error: the worker
    counts on and writes the live view when Redis is back."""
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=5)
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        raise redis_refused(settings, exc) from None
    except redis.ResponseError as exc:
        if "NOAUTH" not in str(exc):
            raise
        raise redis_refused(settings, exc) from None
    except redis.RedisError:
        pass
    finally:
        client.close()


def redis_refused(settings: Settings, exc: Exception) -> SettingsError:
    return _config_error(
        "PAYWATCH_REDIS_URL",
        mask_url(settings.redis_url),
        f"Redis refused the password ({exc})"
        if urlsplit(settings.redis_url).password
        else "Redis wants a password and the URL gives none",
        "put the password Redis expects in the URL (redis://:PASSWORD@HOST:PORT/DB)",
    )


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each PAYWATCH_* name that nothing reads, with the likely intended one."""
    known = {f"PAYWATCH_{name.upper()}" for name in Settings.model_fields} | SCRIPT_VARIABLES
    warnings = []
    for name in sorted(environ):
        if not name.startswith("PAYWATCH_") or name in known or name.startswith(SCRIPT_PREFIXES):
            continue
        if name in RENAMED_VARIABLES:
            new = RENAMED_VARIABLES[name]
            warnings.append(f"paywatch: warning: {name} is now {new} (the same value, in seconds)")
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"paywatch: warning: {name} is not a paywatch variable (ignored){hint}")
    return warnings


def check_all(settings: Settings) -> tuple[Registry, Targets]:
    """What the worker checks before it starts (the web port apart: only a worker needs it)."""
    registry = registry_for(settings)
    targets = targets_for(settings, registry)
    check_redis_password(settings)
    return registry, targets


def security_problem(settings: Settings, timeout_s: float = 10.0) -> str | None:
    """What is wrong with the Kafka security settings, found by opening one connection to the
    first broker as every client does: the message names the setting to fix; None when that
    connection works or fails for another reason (the broker is down)."""
    from aiokafka.conn import create_conn
    from aiokafka.errors import SaslAuthenticationFailed

    host, _, port = settings.bootstrap_servers.split(",")[0].rpartition(":")
    protocol = settings.kafka_security_protocol
    at = f"{host}:{port}"

    async def connect() -> None:
        conn = await asyncio.wait_for(
            create_conn(
                host,
                int(port),
                request_timeout_ms=int(timeout_s * 1000),
                **client_options(settings),
            ),
            timeout_s,
        )
        conn.close()

    try:
        with quiet_kafka_client(), concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, connect()).result()
    except ssl.SSLCertVerificationError as exc:
        return (
            f"paywatch: PAYWATCH_KAFKA_CA_FILE={settings.kafka_ca_file or '(system CAs)'}: the "
            f"broker's certificate at {at} is not trusted ({exc.verify_message}); give the PEM "
            "file of the CA that signed it"
        )
    except ssl.SSLError as exc:
        return (
            f"paywatch: PAYWATCH_KAFKA_SECURITY_PROTOCOL={protocol}: no TLS handshake with {at} "
            f"({exc.reason}); is PAYWATCH_BROKER the broker's SASL_SSL listener?"
        )
    except SaslAuthenticationFailed:
        return (
            f"paywatch: PAYWATCH_KAFKA_SASL_USERNAME={settings.kafka_sasl_username}: the broker "
            f"at {at} refused this user's password (SCRAM-SHA-512); check "
            "PAYWATCH_KAFKA_SASL_PASSWORD_FILE (or PAYWATCH_KAFKA_SASL_PASSWORD)"
        )
    except KafkaConnectionError as exc:
        if protocol == "PLAINTEXT" and "closed" in str(exc):
            return (
                f"paywatch: PAYWATCH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT: the broker at {at} closed "
                "the connection; if it is a SASL_SSL listener, set "
                "PAYWATCH_KAFKA_SECURITY_PROTOCOL=SASL_SSL and its user, password and CA "
                "(docs/security.md)"
            )
        return None
    except (KafkaError, OSError, TimeoutError, ValueError):
        return None
    return None


#: What the broker answers when its ACLs do not allow an operation to the client's principal.
AUTHORIZATION_ERRORS: tuple[type[KafkaError], ...] = (
    TopicAuthorizationFailedError,
    GroupAuthorizationFailedError,
    ClusterAuthorizationFailedError,
)


def kafka_problem(settings: Settings, exc: BaseException) -> str | None:
    """The message naming the setting behind a failed Kafka command: an ACL refusal, a wrong
    password, CA or protocol; None when it is none of these (the broker is down)."""
    if isinstance(exc, AUTHORIZATION_ERRORS):
        return authorization_refused(settings, exc)
    return security_problem(settings)


def authorization_refused(settings: Settings, exc: BaseException) -> str:
    """The message for an operation the broker's ACLs do not allow this principal."""
    user = settings.kafka_sasl_username or "(PLAINTEXT: User:ANONYMOUS)"
    return (
        f"paywatch: PAYWATCH_KAFKA_SASL_USERNAME={user}: the broker's ACLs do not allow this "
        f"({type(exc).__name__}); run this command as a user allowed to (docs/security.md, "
        "principals)"
    )


def broker_unreachable(settings: Settings, exc: BaseException, timeout_s: float = 0) -> str:
    """The message for a broker that could not be reached or did not answer: a wrong password,
    CA or protocol named as such."""
    problem = security_problem(settings)
    if problem is not None:
        return problem
    if isinstance(exc, KafkaConnectionError):
        hosts = ",".join(
            urlsplit(url).netloc.rpartition("@")[2] for url in settings.broker.split(";")
        )
        why = f"no connection to {hosts}"
    else:
        why = str(exc) or f"no answer within {timeout_s:.0f} s"
    return (
        f"paywatch: PAYWATCH_BROKER={mask_url(settings.broker)}: cannot reach the Kafka broker "
        f"({why}); start it (`make services` or `make up` for the local "
        "stack) or point PAYWATCH_BROKER at a running broker"
    )


@contextlib.contextmanager
def quiet_kafka_client() -> Iterator[None]:
    """Keep aiokafka's own error lines (one per failed connection attempt) off the terminal of a
    command that reports the failure itself."""
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def check_broker(settings: Settings, timeout_s: float = 15.0) -> None:
    """The broker answers a metadata request within ``timeout_s``."""

    async def probe() -> None:
        admin = AIOKafkaAdminClient(
            **client_args(settings),
            request_timeout_ms=int(timeout_s * 1000),
        )
        try:
            await asyncio.wait_for(admin.start(), timeout_s)
        finally:
            await admin.close()

    try:
        with quiet_kafka_client():
            asyncio.run(probe())
    except (KafkaError, TimeoutError) as exc:
        raise SettingsError(broker_unreachable(settings, exc, timeout_s)) from None
