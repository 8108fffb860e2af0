"""When a partition stopped short of its end is read again (streams/stalls.py)."""

from __future__ import annotations

from streams.stalls import Stalls


def test_a_partition_stopped_on_two_quiet_checks_is_sought_and_again_after_doubling_waits() -> None:
    stalls: Stalls[str] = Stalls(check_s=5.0, max_wait_s=40.0)
    assert stalls.to_seek({"p0": 7}, now_s=0.0) == {}  # first seen behind: it may still move
    assert stalls.to_seek({"p0": 7}, now_s=5.0) == {"p0": 7}
    seeks = [t for t in range(10, 200, 5) if stalls.to_seek({"p0": 7}, now_s=float(t))]
    # waits of 10, 20, 40 s, then 40 s again (the cap)
    assert seeks == [15, 35, 75, 115, 155, 195]


def test_a_partition_that_moves_or_a_busy_worker_starts_the_count_again() -> None:
    stalls: Stalls[str] = Stalls(check_s=5.0, max_wait_s=300.0)
    stalls.to_seek({"p0": 7, "p1": 3}, now_s=0.0)
    assert stalls.to_seek({"p0": 8, "p1": 3}, now_s=5.0) == {"p1": 3}  # p0 moved on
    stalls.busy()
    assert stalls.to_seek({"p0": 8}, now_s=10.0) == {}
    assert stalls.to_seek({"p0": 8}, now_s=15.0) == {"p0": 8}
    # stopped again further on: sought at once, the wait back to its start
    stalls.to_seek({"p0": 9}, now_s=20.0)
    assert stalls.to_seek({"p0": 9}, now_s=25.0) == {"p0": 9}
    assert stalls.to_seek({"p0": 9}, now_s=30.0) == {}
    assert stalls.to_seek({"p0": 9}, now_s=35.0) == {"p0": 9}


def test_a_partition_given_up_is_forgotten() -> None:
    stalls: Stalls[str] = Stalls(check_s=5.0, max_wait_s=300.0)
    stalls.to_seek({"p0": 7}, now_s=0.0)
    assert stalls.to_seek({"p0": 7}, now_s=5.0) == {"p0": 7}
    stalls.forget("p0")
    assert stalls.to_seek({"p0": 7}, now_s=10.0) == {}  # first seen behind again
    assert stalls.to_seek({"p0": 7}, now_s=15.0) == {"p0": 7}
