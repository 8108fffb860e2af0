"""`make restart-worker` (deploy/local/stack.sh restart-worker): only the local stack's worker is
stopped and started again, under its supervisor, on a real broker and Redis; the rest of the
stack is left alone."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STACK = str(ROOT / "deploy" / "local" / "stack.sh")


def _env(settings: Any, stack_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    env.update(settings.environment())
    env["PAYWATCH_STACK_DIR"] = str(stack_dir)
    return env


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _pid(stack_dir: Path) -> int:
    return int((stack_dir / "run" / "worker.pid").read_text())


def test_restart_worker_stops_and_starts_only_the_worker(
    tmp_path: Path, settings_factory: Callable[..., Any]
) -> None:
    settings = settings_factory()
    stack_dir = tmp_path / "stack"
    env = _env(settings, stack_dir)
    pids: list[int] = []
    try:
        first = subprocess.run(
            ["bash", STACK, "restart-worker"], env=env, capture_output=True, text=True, timeout=180
        )
        assert first.returncode == 0, first.stdout + first.stderr
        pids.append(_pid(stack_dir))
        assert "worker restarted" in first.stdout
        second = subprocess.run(
            ["bash", STACK, "restart-worker"], env=env, capture_output=True, text=True, timeout=180
        )
        assert second.returncode == 0, second.stdout + second.stderr
        pids.append(_pid(stack_dir))
        assert f"stopped worker (pid {pids[0]})" in second.stdout
        assert pids[1] != pids[0]
        # The old supervisor (and its worker) is gone, the new one serves /metrics.
        assert subprocess.run(["kill", "-0", str(pids[0])], capture_output=True).returncode != 0
        deadline_s = time.monotonic() + 60
        while not _answers(settings.web_port):
            assert time.monotonic() < deadline_s, (stack_dir / "logs" / "worker.log").read_text()
            time.sleep(1)
        # Nothing else of a stack was started in this stack dir.
        assert sorted(p.name for p in (stack_dir / "run").iterdir()) == ["worker.pid"]
    finally:
        if pids:  # the supervisor passes SIGTERM on to its worker
            with contextlib.suppress(ProcessLookupError):
                os.kill(pids[-1], signal.SIGTERM)
            for _ in range(120):
                if subprocess.run(["kill", "-0", str(pids[-1])], capture_output=True).returncode:
                    break
                time.sleep(0.25)
