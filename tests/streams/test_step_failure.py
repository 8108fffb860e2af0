"""A step that fails ends the worker process at once, with status 70 and a log line that says
why, instead of letting Faust restart the agent (which would acknowledge the failed step's
events unprocessed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from streams.app import EXIT_STEP_FAILED, EXIT_UNREADABLE

SCRIPT = textwrap.dedent(
    """
    import logging, sys
    logging.basicConfig(stream=sys.stderr)
    from streams.app import _step
    with _step("tally"):
        raise ValueError("a broken step")
    print("still running")
    """
)


def _step_running(body: str) -> subprocess.CompletedProcess[str]:
    """Run SCRIPT in its own process with ``body`` as the step."""
    script = SCRIPT.replace('raise ValueError("a broken step")', body)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )


def test_failed_step_exits_without_going_on() -> None:
    done = _step_running('raise ValueError("a broken step")')
    assert done.returncode == EXIT_STEP_FAILED == 70
    assert "still running" not in done.stdout
    assert "agent tally failed in the middle of a step" in done.stderr
    assert "ValueError: a broken step" in done.stderr


def test_a_good_step_goes_on() -> None:
    done = _step_running("pass")
    assert done.returncode == 0
    assert done.stdout.strip() == "still running"


def test_an_internal_message_of_another_version_stops_the_worker_for_good() -> None:
    # What a unit-deltas message of an older wire format looks like to this version.
    done = _step_running(
        "from streams.wire import UNIT_DELTAS, ENCODER; UNIT_DELTAS.decode(ENCODER.encode(['x']))"
    )
    assert done.returncode == EXIT_UNREADABLE == 65
    assert "still running" not in done.stdout
    assert "agent tally cannot read a message on its internal topic" in done.stderr
    assert "Expected `array`, got `str`" in done.stderr
    assert "PAYWATCH_APP_ID" in done.stderr
