"""The stack scripts check what they need first and say what to do."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str, command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """deploy/local/NAME run with ``env`` added to this process's environment."""
    return subprocess.run(
        ["bash", str(ROOT / "deploy" / "local" / name), command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_port_in_use_names_the_holder(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _script(
            "redis.sh",
            "start",
            {"PAYWATCH_STACK_DIR": str(tmp_path), "PAYWATCH_REDIS_PORT": str(port)},
        )
    assert result.returncode != 0
    assert f"port {port} (for Redis) is in use by pid {os.getpid()}" in result.stderr


def test_old_java_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    java = fake / "java"
    java.write_text(
        "#!/bin/sh\necho '    java.specification.version = 11' >&2\n"
        "echo 'openjdk version \"11.0.2\"' >&2\n"
    )
    java.chmod(0o755)
    env = {
        "PATH": f"{fake}:{os.environ['PATH']}",
        "PAYWATCH_STACK_DIR": str(tmp_path / "stack"),
        "PAYWATCH_KAFKA_PORT": "1",
    }
    result = _script("kafka.sh", "start", env)
    assert result.returncode != 0
    assert "java 17 or newer is needed for Kafka 4.4.0; found 11" in result.stderr


def test_make_up_points_at_status_and_a_filtered_counters_page() -> None:
    """What `make up` prints (deploy/local/stack.sh) names `paywatch status` and a /counters/
    page filtered to one unit and year, not the whole table."""
    stack = (ROOT / "deploy" / "local" / "stack.sh").read_text()
    message = stack.split("paywatch is running. Where to look:")[1].split("\nMSG")[0]
    assert "  Live status        .venv/bin/paywatch status" in message
    assert "/counters/?unit=148&period=2022" in message


def test_the_simulators_duration_under_its_old_name_stops_the_stack(tmp_path: Path) -> None:
    """PAYWATCH_SIM_DURATION is PAYWATCH_SIM_DURATION_S: the old name would be ignored."""
    result = _script(
        "stack.sh", "status", {"PAYWATCH_STACK_DIR": str(tmp_path), "PAYWATCH_SIM_DURATION": "60"}
    )
    assert result.returncode == 1
    assert result.stderr == (
        "[paywatch] error: PAYWATCH_SIM_DURATION is now PAYWATCH_SIM_DURATION_S (the same value, "
        "in seconds): rename the variable\n"
    )


def test_a_redis_password_redis_sh_cannot_pass_on_is_named_not_shown(tmp_path: Path) -> None:
    """Redis's config, ACL SETUSER and redis:// URLs take the password as it is: a space, a
    quote or an '@' would break one of them, so redis.sh refuses it before starting anything."""
    for variable in ("PAYWATCH_REDIS_PASSWORD", "PAYWATCH_DASHBOARD_REDIS_PASSWORD"):
        env = {
            "PAYWATCH_STACK_DIR": str(tmp_path),
            "PAYWATCH_REDIS_PORT": "1",
            variable: "open sesame@",
        }
        result = _script("redis.sh", "start", env)
        assert result.returncode == 1
        assert result.stderr == (
            f"[paywatch] error: {variable} (value not shown): expected letters, digits, '.', "
            "'_', '~' or '-' only, at least one; e.g. openssl rand -hex 24\n"
        )
        assert "sesame" not in result.stdout + result.stderr
        assert not (tmp_path / "logs" / "redis.log").exists()


def test_a_process_that_exits_while_starting_is_said_at_once(tmp_path: Path) -> None:
    """wait_port with the process's name (common.sh) stops waiting when it has ended."""
    script = (
        f'source "{ROOT}/deploy/local/common.sh"; '
        f'start_logged demo "$LOGS/demo.log" bash -c "echo cannot bind; exit 3"; '
        f'wait_port {free_port()} "demo" 60 "$LOGS/demo.log" demo'
    )
    env = {**os.environ, "PAYWATCH_STACK_DIR": str(tmp_path)}
    started_s = time.monotonic()
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    assert time.monotonic() - started_s < 10
    assert result.returncode == 1
    assert (
        result.stderr
        == f"[paywatch] error: demo exited while starting; see {tmp_path}/logs/demo.log\n"
    )
