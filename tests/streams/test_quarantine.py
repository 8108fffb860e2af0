"""The crash-loop guard's record of failed steps, and which faults are a record's."""

from __future__ import annotations

from pathlib import Path

from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError, RequestTimedOutError

from streams.quarantine import FailedSteps, StoreError, is_transient

A = [("payments", 0, 10), ("payments", 0, 11)]
B = [("payments", 0, 11), ("payments", 1, 5)]  # the same step read again in another batch
C = [("payments", 3, 99)]


def test_faults_outside_a_record_are_transient() -> None:
    for exc in (StoreError("disk"), KafkaConnectionError(), RequestTimedOutError(), OSError()):
        assert is_transient(exc), exc
    for exc in (MessageSizeTooLargeError(), ValueError(), RecursionError(), KeyError()):
        assert not is_transient(exc), exc


def test_a_step_is_suspect_after_the_limit_of_failures_in_a_row(tmp_path: Path) -> None:
    path = tmp_path / "failed-steps.json"
    steps = FailedSteps(path, limit=3)
    assert steps.failed("ingest", A) == 1
    assert steps.failed("ingest", B) == 2
    assert not steps.suspect("ingest", B)
    assert steps.failed("ingest", C) == 3
    # a new process reads what the old one wrote
    again = FailedSteps(path, limit=3)
    assert again.suspect("ingest", A)
    assert again.suspect("ingest", C)
    assert not again.suspect("ingest", [("payments", 5, 1)])
    assert not again.suspect("tally", A)
    assert again.failures("ingest") == 3


def test_failures_add_up_until_every_failed_record_got_through(tmp_path: Path) -> None:
    steps = FailedSteps(tmp_path / "f.json", limit=2)
    steps.failed("dossier", A)
    assert steps.failed("dossier", C) == 2  # batches differ from run to run
    assert steps.suspect("dossier", C) and steps.suspect("dossier", A)
    steps.passed("dossier", A + C)
    assert steps.failed("dossier", C) == 1


def test_a_passed_step_is_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    steps = FailedSteps(path, limit=1)
    steps.failed("tally", A)
    steps.passed("tally", C)  # another step: the failed one still waits
    assert FailedSteps(path, limit=1).suspect("tally", A)
    steps.passed("tally", B)  # one of the two failed records got through
    assert FailedSteps(path, limit=1).suspect("tally", A[:1])
    assert not steps.suspect("tally", B)
    steps.passed("tally", A)
    assert not steps.watching("tally")
    assert not FailedSteps(path, limit=1).watching("tally")


def test_an_unreadable_record_of_failures_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text("{not json")
    assert not FailedSteps(path, limit=1).watching("ingest")
