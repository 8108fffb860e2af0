"""Settings: defaults match the local stack; a bad value stops start-up naming the variable."""

from __future__ import annotations

import pytest

from streams.settings import Settings, SettingsError, load_settings


def test_defaults_match_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"PAYWATCH_{name.upper()}", raising=False)
    settings = load_settings()
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.redis_url == "redis://:paywatch-local@127.0.0.1:6380/0"
    assert settings.web_port == 6066
    assert settings.partitions == 6
    assert settings.store == "rocksdb://"
    assert settings.processing_guarantee == "at_least_once"
    assert settings.province_codes == frozenset({"17"})
    assert settings.topic("payments") == "payments"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PAYWATCH_BROKER", "localhost:9092", "expected kafka://HOST:PORT, got 'localhost:9092'"),
        ("PAYWATCH_PARTITIONS", "zero", "PAYWATCH_PARTITIONS='zero'"),
        ("PAYWATCH_PARTITIONS", "0", "greater than or equal to 1"),
        ("PAYWATCH_STORE", "redis://", "expected rocksdb:// or memory://, got 'redis://'"),
        ("PAYWATCH_REDIS_URL", "http://x", "PAYWATCH_REDIS_URL='http://x'"),
        ("PAYWATCH_PROVINCES", "Hoa Binh", "two-digit GSO codes"),
        ("PAYWATCH_WEB_PORT", "70000", "PAYWATCH_WEB_PORT='70000'"),
        ("PAYWATCH_PROCESSING_GUARANTEE", "maybe", "PAYWATCH_PROCESSING_GUARANTEE='maybe'"),
        ("PAYWATCH_PROCESSING_GUARANTEE", "exactly_once", "only at_least_once is supported"),
        ("PAYWATCH_INSTANCE_ID", "worker 1", "PAYWATCH_INSTANCE_ID='worker 1'"),
        ("PAYWATCH_INSTANCE_ID", "w/1", "letters, digits, '.', '_' or '-', unique to this worker"),
        ("PAYWATCH_INSTANCE_ID", "w" * 250, "up to 249"),
        ("PAYWATCH_INSTANCE_ID", "..", "PAYWATCH_INSTANCE_ID='..'"),
        ("PAYWATCH_SESSION_TIMEOUT_S", "3", "PAYWATCH_SESSION_TIMEOUT_S='3'"),
        ("PAYWATCH_SESSION_TIMEOUT_S", "3", "greater than or equal to 6"),
        ("PAYWATCH_SESSION_TIMEOUT_S", "120", "less than or equal to 90"),
        ("PAYWATCH_SESSION_TIMEOUT_S", "soon", "PAYWATCH_SESSION_TIMEOUT_S='soon'"),
    ],
)
def test_bad_value_names_variable_and_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("paywatch: bad configuration")
    assert variable in message
    assert expected in message


def test_province_list_and_whole_country() -> None:
    assert Settings(provinces=" 17, 25 ").province_codes == frozenset({"17", "25"})
    assert Settings(provinces="all").province_codes is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("PAYWATCH_SESSION_TIMEOUT", "PAYWATCH_SESSION_TIMEOUT_S"),
        ("PAYWATCH_BATCH_WITHIN", "PAYWATCH_BATCH_WITHIN_S"),
    ],
)
def test_a_variable_under_its_old_name_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    monkeypatch.setenv(old, "7")
    with pytest.raises(SettingsError) as stopped:
        load_settings()
    assert str(stopped.value) == (
        f"paywatch: bad configuration\n  {old} is now {new} (the same value, in seconds): "
        "rename the variable"
    )
    monkeypatch.delenv(old)
    monkeypatch.setenv(new, "7")
    assert getattr(load_settings(), new.removeprefix("PAYWATCH_").lower()) == 7.0


def test_an_old_name_is_warned_about_with_its_new_one() -> None:
    from streams.preflight import unknown_variables

    old = ["PAYWATCH_RESTART_DELAY", "PAYWATCH_BATCH_WITHIN", "PAYWATCH_SIM_DURATION"]
    assert unknown_variables(dict.fromkeys(old, "1")) == [
        "paywatch: warning: PAYWATCH_BATCH_WITHIN is now PAYWATCH_BATCH_WITHIN_S (the same value, "
        "in seconds)",
        "paywatch: warning: PAYWATCH_RESTART_DELAY is now PAYWATCH_RESTART_DELAY_S (the same "
        "value, in seconds)",
        "paywatch: warning: PAYWATCH_SIM_DURATION is now PAYWATCH_SIM_DURATION_S (the same value, "
        "in seconds)",
    ]
