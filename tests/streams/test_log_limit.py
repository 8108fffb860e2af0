"""streams/log_limit.py: the first of a repeated message passes, the rest are summarised."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from streams.log_limit import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def captured() -> Iterator[tuple[RepeatFilter, Clock, list[str]]]:
    clock = Clock()
    limit = RepeatFilter(interval_s=30.0, clock=clock)
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(f"{record.levelname} {record.getMessage()}")

    handler = Keep()
    handler.addFilter(limit)
    root = logging.getLogger()
    root.addHandler(handler)
    yield limit, clock, lines
    root.removeHandler(handler)


def test_repeats_are_held_back_and_summarised(
    captured: tuple[RepeatFilter, Clock, list[str]],
) -> None:
    limit, clock, lines = captured
    kafka = logging.getLogger("aiokafka.conn")
    for port in range(1000):  # only the numbers differ
        kafka.error("Unable connect to node with id 1: Connect call failed ('127.0.0.1', %d)", port)
        clock.now += 0.01
    logging.getLogger("faust.transport.producer").warning("producer buffer full size 1234")
    assert lines == [
        "ERROR Unable connect to node with id 1: Connect call failed ('127.0.0.1', 0)",
        "WARNING producer buffer full size 1234",
    ]
    limit.flush()
    assert len(lines) == 2  # not a whole interval yet
    clock.now += 30
    limit.flush()
    assert lines[2:] == [
        "ERROR repeated 999 times in the last 40 s, the last: Unable connect to node with id 1: "
        "Connect call failed ('127.0.0.1', 999)"
    ]
    kafka.error("Unable connect to node with id 1: Connect call failed ('127.0.0.1', 7)")
    assert lines[-1].endswith("('127.0.0.1', 7)")  # a new interval: it passes again


def test_a_repeat_after_the_interval_carries_the_count(
    captured: tuple[RepeatFilter, Clock, list[str]],
) -> None:
    _, clock, lines = captured
    log = logging.getLogger("mode.timers")
    for _ in range(5):
        log.warning("Timer x is overlapping (interval=0.25 runtime=0.4)")
    clock.now += 31
    log.warning("Timer x is overlapping (interval=0.25 runtime=0.5)")
    assert lines == [
        "WARNING Timer x is overlapping (interval=0.25 runtime=0.4)",
        "WARNING Timer x is overlapping (interval=0.25 runtime=0.5) (and 4 more like it)",
    ]


def test_different_messages_and_levels_pass(
    captured: tuple[RepeatFilter, Clock, list[str]],
) -> None:
    limit, _, lines = captured
    log = logging.getLogger("paywatch.test")
    log.warning("one")
    log.error("one")
    log.warning("two")
    logging.getLogger("other").warning("one")
    assert len(lines) == 4
    log.warning("one")
    limit.flush(everything=True)  # as a worker stops
    assert lines[-1] == "WARNING repeated 1 times in the last 0 s, the last: one"
