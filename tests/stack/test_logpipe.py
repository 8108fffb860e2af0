"""The local stack's logs (deploy/local/logpipe.py, common.sh's start_logged): rotated at a size,
no terminal escape codes, and a process started in the background holds no caller's pipe; Redis
(deploy/local/redis.sh) writes through the same pipe."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGPIPE = ROOT / "deploy" / "local" / "logpipe.py"


def test_rotated_at_the_size_with_the_backups_kept_and_escapes_left_out(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    line = "\x1b[?25l[2026-11-29 10:00:00] [1] [ERROR] \x1b[31mUnable connect\x1b[0m\b\b #%06d\r\n"
    text = "".join(line % n for n in range(40_000))  # about 2.6 MB
    env = {**os.environ, "PAYWATCH_LOG_MAX_MB": "1", "PAYWATCH_LOG_BACKUPS": "2"}
    subprocess.run(
        [sys.executable, str(LOGPIPE), str(log)], input=text.encode(), env=env, check=True
    )
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["worker.log", "worker.log.1", "worker.log.2"]
    assert all(f.stat().st_size <= 1024 * 1024 for f in files)
    kept = "".join((tmp_path / name).read_text() for name in ("worker.log.2", "worker.log.1"))
    kept += log.read_text()
    lines = kept.splitlines()
    assert lines[-1] == "[2026-11-29 10:00:00] [1] [ERROR] Unable connect #039999"
    numbers = [int(x.rsplit("#", 1)[1]) for x in lines]
    assert numbers == list(range(numbers[0], 40_000))  # the newest, in order, none cut
    assert not any(c in kept for c in "\x1b\b\r")


def test_a_bad_size_is_named(tmp_path: Path) -> None:
    env = {**os.environ, "PAYWATCH_LOG_MAX_MB": "ten"}
    done = subprocess.run(
        [sys.executable, str(LOGPIPE), str(tmp_path / "x.log")],
        input="",
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "PAYWATCH_LOG_MAX_MB='ten': expected a whole number" in done.stderr


def test_start_logged_writes_through_the_pipe_and_holds_no_caller_open(tmp_path: Path) -> None:
    script = (
        f'source "{ROOT}/deploy/local/common.sh"; '
        f'start_logged demo "$LOGS/demo.log" bash -c \'printf "\\033[1mbold\\033[0m\\n"; sleep 30\''
    )
    env = {**os.environ, "PAYWATCH_STACK_DIR": str(tmp_path)}
    started_s = time.monotonic()
    subprocess.run(["bash", "-c", script], env=env, capture_output=True, timeout=20, check=True)
    assert time.monotonic() - started_s < 10  # the caller's captured output was not held
    pid = int((tmp_path / "run" / "demo.pid").read_text())
    try:
        deadline_s = time.monotonic() + 10
        log = tmp_path / "logs" / "demo.log"
        while not (log.exists() and log.read_text()):
            assert time.monotonic() < deadline_s, "nothing reached the log"
            time.sleep(0.1)
        assert log.read_text() == "bold\n"
    finally:
        os.kill(pid, 15)


@pytest.mark.servers  # starts a Redis of its own through deploy/local/redis.sh
def test_redis_log_is_rotated_through_the_pipe(tmp_path: Path) -> None:
    """A redis.log already at the size limit is rotated when the stack's Redis starts: the old
    lines move to redis.log.1, Redis's own lines reach redis.log through logpipe.py (also at its
    shutdown), and the rendered config holding the password is a file of mode 600, never an
    argument."""
    port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    old = "".join(f"old redis line {n:06d}\n" for n in range(50_000))  # just over 1 MB
    (logs / "redis.log").write_text(old)
    env = {
        **os.environ,
        "PAYWATCH_STACK_DIR": str(tmp_path),
        "PAYWATCH_REDIS_PORT": str(port),
        "PAYWATCH_REDIS_PASSWORD": "log-test-secret",
        "PAYWATCH_REDIS_DEFAULT_USER": "on",
        "PAYWATCH_LOG_MAX_MB": "1",
        "PAYWATCH_LOG_BACKUPS": "2",
    }
    script = str(ROOT / "deploy" / "local" / "redis.sh")
    started = subprocess.run(
        ["bash", script, "start"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        pid = int((tmp_path / "run" / "redis.pid").read_text())
        client = redis.Redis(port=port, password="log-test-secret")
        assert client.ping()
        assert client.info("server")["process_id"] == pid  # the pid file names Redis itself
        client.close()
        assert os.readlink(f"/proc/{pid}/fd/1").startswith("pipe:")  # not a file of its own
        assert b"log-test-secret" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        conf = tmp_path / "redis" / "redis.conf"
        assert conf.stat().st_mode & 0o777 == 0o600
        _wait_for_line(logs / "redis.log", "Ready to accept connections")  # the pipe is async
        assert (logs / "redis.log.1").read_text() == old
    finally:
        stopped = subprocess.run(
            ["bash", script, "stop"], env=env, capture_output=True, text=True, timeout=60
        )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    _wait_for_line(logs / "redis.log", "ready to exit")
    assert not (logs / "redis.log.2").exists()
    assert "\x1b" not in (logs / "redis.log").read_text()


def _wait_for_line(log: Path, text: str) -> None:
    deadline_s = time.monotonic() + 15
    while not (log.exists() and text in log.read_text()):
        assert time.monotonic() < deadline_s, f"{text!r} did not reach {log}"
        time.sleep(0.1)
