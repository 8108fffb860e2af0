"""Stopping the processes a test started (workers, dashboards, private servers): one way."""

from __future__ import annotations

import subprocess


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
