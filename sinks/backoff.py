"""Exponential backoff with jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
the n-th retry waits a random number of seconds in [base_s/2, min(cap_s, base_s * 2**n)], so
retries of many workers spread out and never hammer a Redis that is coming back."""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    def __init__(
        self, base_s: float = 0.1, cap_s: float = 10.0, rng: random.Random | None = None
    ) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError(f"need 0 < base_s <= cap_s, got base_s={base_s} cap_s={cap_s}")
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay in seconds before the next retry (and count one more failure)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(self.attempt, 62))
        self.attempt += 1
        return self._rng.uniform(self.base_s / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0
