"""deploy/local/supervise.sh, which `make up` runs the worker under: it starts the worker again
after status 70 (a failed step), gives up on any other status, and passes SIGTERM on."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPERVISE = str(ROOT / "deploy" / "local" / "supervise.sh")


def test_restarts_after_status_70_only(tmp_path: Path) -> None:
    count = tmp_path / "count"
    script = tmp_path / "flaky.sh"
    script.write_text(
        f"n=$(cat {count} 2>/dev/null || echo 0); echo $((n + 1)) > {count}\n"
        '[ "$n" -lt 2 ] && exit 70\nexit 3\n'
    )
    done = subprocess.run(
        ["bash", SUPERVISE, "bash", str(script)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3
    assert count.read_text().strip() == "3"
    assert done.stderr.count("exited with status 70") == 2


def test_sigterm_reaches_the_child_and_ends_the_supervisor(tmp_path: Path) -> None:
    marker = tmp_path / "terminated"
    script = tmp_path / "worker.sh"
    script.write_text(f"trap 'touch {marker}; exit 0' TERM\nwhile :; do sleep 0.1; done\n")
    proc = subprocess.Popen(["bash", SUPERVISE, "bash", str(script)])
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert marker.exists()
