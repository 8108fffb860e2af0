"""Exponential backoff with jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
the n-th retry waits a random time in [base/2, min(cap, base * 2**n)], so retries of many
workers spread out and never hammer a Redis that is coming back."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    def __init__(self, base: float = 0.1, cap: float = 10.0, rng: random.Random | None = None):
        if base <= 0 or cap < base:
            raise ValueError(f"need 0 < base <= cap, got base={base} cap={cap}")
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay before the next retry (and count one more failure)."""
        ceiling = min(self.cap, self.base * 2.0 ** min(self.attempt, 62))
        self.attempt += 1
        return self._rng.uniform(self.base / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0
