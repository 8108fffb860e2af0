"""The local stack's logs (deploy/local/logpipe.py, common.sh's start_logged): rotated at a size,
no terminal escape codes, and a process started in the background holds no caller's pipe."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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
    started = time.monotonic()
    subprocess.run(["bash", "-c", script], env=env, capture_output=True, timeout=20, check=True)
    assert time.monotonic() - started < 10  # the caller's captured output was not held
    pid = int((tmp_path / "run" / "demo.pid").read_text())
    try:
        deadline = time.monotonic() + 10
        log = tmp_path / "logs" / "demo.log"
        while not (log.exists() and log.read_text()):
            assert time.monotonic() < deadline, "nothing reached the log"
            time.sleep(0.1)
        assert log.read_text() == "bold\n"
    finally:
        os.kill(pid, 15)
