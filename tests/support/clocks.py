"""A clock for the code under test that stands still until the test moves it."""

from __future__ import annotations


class ManualClock:
    """Seconds since ``now`` was last set: they pass only when a test adds to ``now``, so
    expiries and back-offs are reached without waiting."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
