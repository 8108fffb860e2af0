"""A person's mistakes and unreachable servers give a short message naming the variable or
option, its value and what to do, and a non-zero exit: never a traceback. Each case runs the
real `paywatch` command against the test's real servers, or a closed or silent port."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.processes import paywatch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path, unique: str, redis_server_url: str, kafka_bootstrap: str) -> dict[str, str]:
    """A complete, valid configuration of this test's own (nothing it names is shared)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    return {
        **clean,
        "PAYWATCH_BROKER": f"kafka://{kafka_bootstrap}",
        "PAYWATCH_REDIS_URL": redis_server_url,
        "PAYWATCH_APP_ID": f"test-{unique}",
        "PAYWATCH_TOPIC_PREFIX": f"test-{unique}-",
        "PAYWATCH_REDIS_PREFIX": f"test-{unique}",
        "PAYWATCH_DATA_DIR": str(tmp_path / "worker"),
        "PAYWATCH_WEB_PORT": str(free_port()),
        "COLUMNS": "100",
    }


def _run(
    env: dict[str, str], *args: str, timeout_s: float = 90
) -> subprocess.CompletedProcess[str]:
    return paywatch(*args, env=env, timeout_s=timeout_s)


def _says(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    """Failed, with a short message holding every part, and no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr and "╭" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr
    for part in parts:
        assert part in result.stderr, (part, result.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ("worker",),
        ("topics",),
        ("simulate", "--count", "10", "--quiet"),
        ("replay", str(ROOT / "deploy" / "samples" / "payments-export.jsonl")),
    ],
)
def test_an_unreachable_broker_is_named(env: dict[str, str], args: tuple[str, ...]) -> None:
    port = free_port()
    env["PAYWATCH_BROKER"] = f"kafka://127.0.0.1:{port}"
    _says(
        _run(env, *args),
        f"PAYWATCH_BROKER=kafka://127.0.0.1:{port}: cannot reach the Kafka broker",
        "make up",
    )


def test_a_broker_that_never_answers_times_out(env: dict[str, str], silent_port: int) -> None:
    env["PAYWATCH_BROKER"] = f"kafka://127.0.0.1:{silent_port}"
    result = _run(env, "topics", timeout_s=60)
    _says(result, f"PAYWATCH_BROKER=kafka://127.0.0.1:{silent_port}", "no answer within 15 s")


def test_a_broker_password_is_never_shown(env: dict[str, str]) -> None:
    port = free_port()
    env["PAYWATCH_BROKER"] = f"kafka://ops:s3cret@127.0.0.1:{port}"
    result = _run(env, "topics")
    _says(result, f"PAYWATCH_BROKER=kafka://***@127.0.0.1:{port}")
    assert "s3cret" not in result.stderr + result.stdout
    config = _run(env, "config")
    assert f"PAYWATCH_BROKER=kafka://***@127.0.0.1:{port}" in config.stdout
    assert "s3cret" not in config.stdout + config.stderr


def test_worker_checks_provinces_targets_redis_password_and_web_port(
    env: dict[str, str], tmp_path: Path, redis_server_url: str
) -> None:
    _says(
        _run({**env, "PAYWATCH_PROVINCES": "99"}, "worker"),
        "PAYWATCH_PROVINCES=99: unknown province code(s) ['99']",
        "set it to GSO province codes",
    )
    missing = tmp_path / "no-such-folder"
    _says(
        _run({**env, "PAYWATCH_TARGETS_DIR": str(missing)}, "worker"),
        f"PAYWATCH_TARGETS_DIR={missing}: {missing}: not a directory",
        "deploy/targets",
    )
    bad = tmp_path / "targets"
    bad.mkdir()
    (bad / "2022.yaml").write_text('year: 2022\nprovinces:\n  "17":\n    default: 130\n')
    _says(
        _run({**env, "PAYWATCH_TARGETS_DIR": str(bad)}, "worker"),
        f"PAYWATCH_TARGETS_DIR={bad}",
        "2022.yaml: provinces.'17'.default: target 130% is outside 0..100",
        "fix that file",
    )
    wrong = redis_server_url.replace(":paywatch-local@", ":wrong@")
    assert wrong != redis_server_url
    result = _run({**env, "PAYWATCH_REDIS_URL": wrong}, "worker")
    _says(result, "PAYWATCH_REDIS_URL=redis://***@", "Redis refused the password")
    assert ":wrong@" not in result.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _says(
            _run({**env, "PAYWATCH_WEB_PORT": str(port)}, "worker"),
            f"PAYWATCH_WEB_PORT={port}: 127.0.0.1:{port} is already in use",
            "its own PAYWATCH_WEB_PORT",
        )


def test_status_and_report_name_a_wrong_redis_password(
    env: dict[str, str], redis_server_url: str
) -> None:
    env["PAYWATCH_REDIS_URL"] = redis_server_url.replace(":paywatch-local@", ":wrong@")
    for args in (("status",), ("report", "2022")):
        result = _run(env, *args)
        assert result.returncode == 2
        assert "PAYWATCH_REDIS_URL" in result.stderr and "password" in result.stderr
        assert ":wrong@" not in result.stderr


def test_config_checks_what_the_worker_checks_and_warns_on_unknown_names(
    env: dict[str, str], tmp_path: Path
) -> None:
    good = _run({**env, "PAYWATCH_PARTITONS": "3"}, "config")
    assert good.returncode == 0, good.stderr
    assert (
        "PAYWATCH_PARTITONS is not a paywatch variable (ignored); "
        "did you mean PAYWATCH_PARTITIONS?" in good.stderr
    )
    assert "PAYWATCH_PARTITIONS=6" in good.stdout
    assert "ok: 17" in good.stderr and "targets for 2022" in good.stderr
    _says(_run({**env, "PAYWATCH_PROVINCES": "99"}, "config"), "PAYWATCH_PROVINCES=99")
    no_password = env["PAYWATCH_REDIS_URL"].replace("paywatch-admin:paywatch-local@", "")
    _says(
        _run({**env, "PAYWATCH_REDIS_URL": no_password}, "config"),
        f"PAYWATCH_REDIS_URL={no_password}: Redis wants a password and the URL gives none",
    )
    missing = tmp_path / "nowhere"
    _says(
        _run({**env, "PAYWATCH_TARGETS_DIR": str(missing)}, "config"),
        f"PAYWATCH_TARGETS_DIR={missing}",
    )


def test_every_variable_the_scripts_read_is_known() -> None:
    """The unknown-name warning must not fire on the project's own variables."""
    import re

    from streams.preflight import RENAMED_VARIABLES, unknown_variables

    names: set[str] = set()
    for path in [
        *ROOT.glob("deploy/**/*.sh"),
        *ROOT.glob("deploy/**/*.in"),
        *ROOT.glob("deploy/**/*.yml"),
        ROOT / "Makefile",
        ROOT / "docker-compose.yml",
        ROOT / "Dockerfile",
        *ROOT.glob("tests/**/*.py"),
        *ROOT.glob("bench/**/*.py"),
    ]:
        names |= set(re.findall(r"PAYWATCH_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_])", path.read_text()))
    names.discard("PAYWATCH_PARTITONS")  # the misspelling tested above
    names -= set(RENAMED_VARIABLES)  # old names, in the tests of their messages
    assert len(names) > 30
    assert unknown_variables(dict.fromkeys(names, "")) == []


def test_a_partition_count_other_than_the_topics_is_named(env: dict[str, str]) -> None:
    assert _run(env, "topics").returncode == 0
    result = _run({**env, "PAYWATCH_PARTITIONS": "2"}, "topics")
    _says(result, "has 6 partitions but PAYWATCH_PARTITIONS is 2")
