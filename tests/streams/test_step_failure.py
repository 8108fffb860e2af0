"""A step that fails ends the worker process at once, with status 70 and a log line that says
why, instead of letting Faust restart the agent (which would acknowledge the failed step's
events unprocessed); the failure is written down for the crash-loop guard."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from streams.app import EXIT_STEP_FAILED

SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from pathlib import Path
    from types import SimpleNamespace
    logging.basicConfig(stream=sys.stderr)
    from streams.app import _step
    from streams.quarantine import FailedSteps
    event = SimpleNamespace(message=SimpleNamespace(topic="unit-deltas", partition=2, offset=41))
    with _step("tally", FailedSteps(Path(sys.argv[1]), 3), [event]):
        BODY
    print("still running")
    """
)


def _step_running(body: str, ledger: Path) -> subprocess.CompletedProcess[str]:
    """Run SCRIPT in its own process with ``body`` as the step."""
    script = SCRIPT.replace("BODY", body)
    return subprocess.run(
        [sys.executable, "-c", script, str(ledger)], capture_output=True, text=True, timeout=120
    )


def test_failed_step_exits_without_going_on(tmp_path: Path) -> None:
    ledger = tmp_path / "failed-steps.json"
    done = _step_running('raise ValueError("payer Nguyen Van A")', ledger)
    assert done.returncode == EXIT_STEP_FAILED == 70
    assert "still running" not in done.stdout
    assert "agent tally failed in the middle of a step (failure 1 of" in done.stderr
    assert "ValueError: (message withheld" in done.stderr
    assert "Nguyen" not in done.stderr  # a record's fault may quote it: not in the log
    assert json.loads(ledger.read_text()) == {
        "tally": {"positions": [["unit-deltas", 2, 41]], "failures": 1}
    }
    again = _step_running('raise ValueError("payer Nguyen Van A")', ledger)
    assert "(failure 2 of" in again.stderr
    assert json.loads(ledger.read_text())["tally"]["failures"] == 2


def test_a_transient_fault_keeps_its_message(tmp_path: Path) -> None:
    done = _step_running('raise ConnectionError("broker 127.0.0.1:9092 away")', tmp_path / "f")
    assert done.returncode == EXIT_STEP_FAILED
    assert "ConnectionError: broker 127.0.0.1:9092 away" in done.stderr


def test_a_good_step_goes_on(tmp_path: Path) -> None:
    done = _step_running("pass", tmp_path / "failed-steps.json")
    assert done.returncode == 0
    assert done.stdout.strip() == "still running"
    assert not (tmp_path / "failed-steps.json").exists()
