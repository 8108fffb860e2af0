"""Retry delays (sinks/backoff.py): doubling up to the cap, jittered, starting over on reset."""

from __future__ import annotations

import random

import pytest

from sinks.backoff import Backoff


def test_the_ceiling_doubles_up_to_the_cap_and_the_floor_is_half_the_base() -> None:
    rng = random.Random(3)
    backoff = Backoff(base_s=0.1, cap_s=1.0, rng=rng)
    delays = [backoff.next() for _ in range(200)]
    ceilings = [min(1.0, 0.1 * 2**n) for n in range(200)]
    assert all(0.05 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[4:]) > 0.8  # past the fourth retry the cap is reachable
    assert backoff.attempt == 200
    assert len(set(delays)) == 200  # jittered: workers do not retry in step


def test_a_reset_starts_from_the_base_again() -> None:
    backoff = Backoff(base_s=0.2, cap_s=30.0, rng=random.Random(1))
    for _ in range(10):
        backoff.next()
    backoff.reset()
    assert backoff.attempt == 0 and 0.1 <= backoff.next() <= 0.2


def test_many_failures_never_overflow() -> None:
    backoff = Backoff(base_s=0.1, cap_s=5.0, rng=random.Random(2))
    backoff.attempt = 10_000
    assert 0.05 <= backoff.next() <= 5.0


@pytest.mark.parametrize(("base_s", "cap_s"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_an_impossible_range_is_refused_naming_both(base_s: float, cap_s: float) -> None:
    with pytest.raises(ValueError, match=f"base_s={base_s} cap_s={cap_s}"):
        Backoff(base_s=base_s, cap_s=cap_s)
