"""Nonces for signed requests in tests: each above any used before in the session."""

from __future__ import annotations


class Nonces:
    """Fresh nonces, strictly increasing; a test that sends one of its own sets ``last``
    above it so that the next stays fresh."""

    last = 10**16

    @classmethod
    def next(cls) -> int:
        cls.last += 1
        return cls.last
