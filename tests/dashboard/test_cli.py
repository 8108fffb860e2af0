"""`paywatch dashboard` refuses bad input with a message that names it, and no traceback."""

from __future__ import annotations

import os
import socket
import subprocess

from tests.processes import paywatch


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    return paywatch("dashboard", *args, env={**clean, **env})


def test_a_port_in_use_is_named() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run("--port", str(port))
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "PAYWATCH_DASHBOARD_PORT" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_setting_is_named_with_its_value() -> None:
    done = _run(PAYWATCH_DASHBOARD_STALE_S="soon", PAYWATCH_DASHBOARD_REDIS_URL="http://x")
    assert done.returncode != 0
    assert "PAYWATCH_DASHBOARD_STALE_S='soon'" in done.stderr
    assert "PAYWATCH_DASHBOARD_REDIS_URL='http://x'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_targets_folder_is_named() -> None:
    done = _run(PAYWATCH_TARGETS_DIR="/nonexistent/targets")
    assert done.returncode != 0
    assert "PAYWATCH_TARGETS_DIR" in done.stderr and "/nonexistent/targets" in done.stderr
    assert "Traceback" not in done.stderr
