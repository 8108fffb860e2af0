"""Kafka and Redis credentials in the settings: read from files or the environment, checked at
start-up naming the variable, never shown (no servers needed)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from streams.kafka_security import client_args, client_options, faust_options
from streams.settings import Settings, SettingsError, load_settings

SECRET = "s3cret-never-shown"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"PAYWATCH_{name.upper()}", raising=False)
    return monkeypatch


def _refused(monkeypatch: pytest.MonkeyPatch, **variables: str) -> str:
    for name, value in variables.items():
        monkeypatch.setenv(f"PAYWATCH_{name}", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return str(caught.value)


def test_plaintext_is_the_default_and_adds_nothing(clean_env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert client_options(settings) == {"security_protocol": "PLAINTEXT"}
    assert faust_options(settings) == {}
    assert client_args(settings)["bootstrap_servers"] == "127.0.0.1:9092"


def test_sasl_ssl_needs_a_user_and_a_password(clean_env: pytest.MonkeyPatch) -> None:
    message = _refused(clean_env, KAFKA_SECURITY_PROTOCOL="SASL_SSL")
    assert "PAYWATCH_KAFKA_SASL_USERNAME" in message
    message = _refused(clean_env, KAFKA_SASL_USERNAME="paywatch-worker")
    assert "PAYWATCH_KAFKA_SASL_PASSWORD_FILE" in message


def test_an_unknown_protocol_is_named(clean_env: pytest.MonkeyPatch) -> None:
    message = _refused(clean_env, KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SASL_PASSWORD=SECRET)
    assert "PAYWATCH_KAFKA_SECURITY_PROTOCOL='SSL'" in message
    assert SECRET not in message


def test_a_bad_password_value_is_never_echoed(clean_env: pytest.MonkeyPatch) -> None:
    # pydantic refuses a non-string only, so make the whole model fail with the secret in it
    with pytest.raises(SettingsError) as caught:
        clean_env.setenv("PAYWATCH_KAFKA_SASL_PASSWORD", SECRET)
        clean_env.setenv("PAYWATCH_PARTITIONS", "0")
        load_settings()
    assert SECRET not in str(caught.value)


def test_an_unreadable_secret_file_is_named(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    message = _refused(clean_env, KAFKA_SASL_PASSWORD_FILE=str(missing))
    assert f"PAYWATCH_KAFKA_SASL_PASSWORD_FILE='{missing}'" in message
    assert "cannot read it" in message
    message = _refused(clean_env, REDIS_PASSWORD_FILE=str(missing))
    assert "PAYWATCH_REDIS_PASSWORD_FILE" in message


def test_sasl_ssl_options_from_a_password_file(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text(SECRET + "\n")
    clean_env.setenv("PAYWATCH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    clean_env.setenv("PAYWATCH_KAFKA_SASL_USERNAME", "paywatch-worker")
    clean_env.setenv("PAYWATCH_KAFKA_SASL_PASSWORD_FILE", str(secret))
    settings = load_settings()
    options = client_options(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "paywatch-worker"
    assert options["sasl_plain_password"] == SECRET
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    credentials = faust_options(settings)["broker_credentials"]
    assert credentials.password == SECRET
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.protocol.value == "SASL_SSL"
    assert SECRET not in repr(settings) and SECRET not in repr(credentials)
    secret.write_text("rotated\n")  # read again by each new client
    assert client_options(settings)["sasl_plain_password"] == "rotated"


def test_a_ca_file_that_is_no_certificate_is_named(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="u",
        kafka_sasl_password=SECRET,
        kafka_ca_file=str(bad),
    )
    with pytest.raises(SettingsError) as caught:
        client_options(settings)
    assert f"PAYWATCH_KAFKA_CA_FILE={bad}" in str(caught.value)


def test_redis_password_file_replaces_the_urls(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "redis-password"
    secret.write_text("p@ss/word\n")
    settings = Settings(
        redis_url="redis://paywatch-worker@127.0.0.1:6380/0", redis_password_file=str(secret)
    )
    assert settings.redis_url == "redis://paywatch-worker:p%40ss%2Fword@127.0.0.1:6380/0"
    assert Settings(redis_url="redis://:x@h:1/0").redis_url == "redis://:x@h:1/0"


def test_config_masks_every_secret(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(SECRET)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    env.update(
        PAYWATCH_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        PAYWATCH_KAFKA_SASL_USERNAME="paywatch-worker",
        PAYWATCH_KAFKA_SASL_PASSWORD=SECRET,
        PAYWATCH_REDIS_URL=f"redis://paywatch-worker:{SECRET}@127.0.0.1:1/0",
        PAYWATCH_REDIS_PASSWORD_FILE=str(secret),
    )
    done = subprocess.run(
        [str(Path(sys.executable).parent / "paywatch"), "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = done.stdout + done.stderr
    assert "PAYWATCH_KAFKA_SECURITY_PROTOCOL=SASL_SSL" in done.stdout
    assert "PAYWATCH_KAFKA_SASL_PASSWORD=**********" in done.stdout
    assert "PAYWATCH_REDIS_URL=redis://***@127.0.0.1:1/0" in done.stdout
    assert SECRET not in out
