"""The security options of every Kafka client paywatch makes, from one place.

``PAYWATCH_KAFKA_SECURITY_PROTOCOL=SASL_SSL``: SCRAM-SHA-512 with ``PAYWATCH_KAFKA_SASL_USERNAME``
and the password of ``PAYWATCH_KAFKA_SASL_PASSWORD_FILE`` (or ``PAYWATCH_KAFKA_SASL_PASSWORD``),
over TLS that trusts ``PAYWATCH_KAFKA_CA_FILE`` (or the system's CAs). ``PLAINTEXT``: nothing.
The aiokafka clients take :func:`client_options`, the Faust app :func:`faust_options`; neither
the password nor the options ever go into a log line or a message (docs/security.md).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

from streams.settings import Settings, SettingsError

SASL_MECHANISM = "SCRAM-SHA-512"


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """A client TLS context that verifies the broker's certificate and host name against
    PAYWATCH_KAFKA_CA_FILE (the system's CAs when it is not set)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if settings.kafka_ca_file:
        try:
            context.load_verify_locations(cafile=settings.kafka_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(
                f"paywatch: PAYWATCH_KAFKA_CA_FILE={settings.kafka_ca_file}: not a PEM CA "
                f"certificate ({exc}); give the PEM file of the CA that signed the broker's "
                "certificate"
            ) from None
    return context


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of an ``AIOKafkaProducer``, ``AIOKafkaConsumer`` or
    ``AIOKafkaAdminClient`` for the configured security protocol."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {"security_protocol": "PLAINTEXT"}
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": SASL_MECHANISM,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": settings.kafka_sasl_secret,
        "ssl_context": ssl_context(settings),
    }


def faust_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``faust.App`` (its ``broker_credentials``) for the protocol."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    import faust

    credentials = faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_secret,
        ssl_context=ssl_context(settings),
        mechanism=SASL_MECHANISM,
    )
    return {"broker_credentials": credentials}


#: ``bootstrap_servers`` and the security options: what every aiokafka client is given.
KafkaClientArgs = Mapping[str, Any]


def client_args(settings: Settings) -> KafkaClientArgs:
    """The broker list (host:port only) and :func:`client_options`, for one aiokafka client."""
    return {"bootstrap_servers": settings.bootstrap_servers, **client_options(settings)}
