"""The child processes of the tests: the `paywatch` command run as a user runs it, and stopping
the processes a test started (workers, dashboards, private servers): one way each."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

#: The installed command line (`make services` installs it in .venv).
PAYWATCH = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "paywatch")


def paywatch(
    *args: str, env: Mapping[str, str] | None = None, timeout_s: float = 60, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``paywatch ARGS`` run to its end with ``env`` (else this process's environment), its
    output captured as text."""
    return subprocess.run(
        [PAYWATCH, *args],
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=check,
    )


def stop_process(proc: subprocess.Popen[bytes] | None, grace_s: float = 30.0) -> None:
    """SIGTERM ``proc`` and wait; SIGKILL it if it is still running after ``grace_s``."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        kill_process(proc)


def kill_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL ``proc`` (as `kill -9` or the out-of-memory killer would) and reap it."""
    if proc is None or proc.poll() is not None:
        return
    proc.kill()
    proc.wait(timeout=30)
