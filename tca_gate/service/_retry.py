"""When a failed call is tried again, and how long to wait first (``Retry-After`` included).

Only idempotent calls (GET, DELETE) are retried. A retried DELETE may find that its
first attempt did land (the answer was lost): a 404 to a retry of a deletion whose
answer is only ``{"result": true}`` is taken as its success (``Call.done_if_gone``).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from tca_gate.errors import (
    InvalidArgumentError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
)

#: 5xx answers that another attempt cannot change.
_PERMANENT_SERVER_STATUSES = frozenset({501, 505})

#: Past this many doublings the backoff is ``wait_max`` anyway (and 2**n stays a float).
_MAX_DOUBLINGS = 64


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries for idempotent calls: exponential backoff with jitter, honouring ``Retry-After``.

    Up to ``retries`` more attempts after the first, on connection failures, timeouts,
    429 and 5xx. Each wait is the backoff (``wait_initial`` doubling up to ``wait_max``,
    plus up to ``wait_jitter``) or the answer's ``Retry-After``, whichever is longer. A
    ``Retry-After`` over ``max_retry_after``, or a wait that would end past ``deadline``
    seconds from the first attempt, is not waited for: the last error is raised at once.
    Calls that are not idempotent (POST, PATCH) are never retried.
    """

    retries: int = 3
    wait_initial: float = 0.2
    wait_max: float = 5.0
    wait_jitter: float = 0.5
    max_retry_after: float = 30.0
    deadline: float = 45.0

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int):
            raise InvalidArgumentError(f"retries must be an int, not {type(self.retries).__name__}")
        for name in ("retries", "wait_initial", "wait_max", "wait_jitter", "max_retry_after"):
            if getattr(self, name) < 0:
                raise InvalidArgumentError(f"{name} must not be negative")
        if not self.deadline > 0:
            raise InvalidArgumentError("deadline must be positive")

    @classmethod
    def of(cls, retries: RetryPolicy | int) -> RetryPolicy:
        """A policy from a policy or from a number of retries."""
        return retries if isinstance(retries, RetryPolicy) else cls(retries=retries)

    def stamina_options(self) -> dict[str, Any]:
        """The arguments of ``stamina.RetryingCaller``: the waits and deadline are ours."""
        return {"attempts": self.retries + 1, "timeout": None}

    def backoff(self, retry: int) -> float:
        """The jittered exponential wait before retry number ``retry`` (1-based)."""
        doubled = self.wait_initial * 2.0 ** min(retry - 1, _MAX_DOUBLINGS)
        return min(self.wait_max, doubled + random.uniform(0, self.wait_jitter))

    def wait_for(self, error: Exception, retry: int) -> float | None:
        """Seconds to wait before retry number ``retry`` after ``error``; ``None``: do not retry."""
        if isinstance(error, ServiceUnavailableError):
            retry_after = None
        elif isinstance(error, RateLimitError) or (
            isinstance(error, ServerError) and error.status not in _PERMANENT_SERVER_STATUSES
        ):
            retry_after = error.retry_after
        else:
            return None
        if retry_after is None:
            return self.backoff(retry)
        if retry_after > self.max_retry_after:
            return None
        return max(float(retry_after), self.backoff(retry))


class RetrySchedule:
    """One call's retries under a policy: stamina's backoff hook, counting from the first try."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.retries = 0
        self._started = time.monotonic()

    def backoff_for(self, error: Exception) -> bool | float:
        """stamina's hook: ``False`` to raise ``error``, else the seconds to wait first."""
        wait = self.policy.wait_for(error, self.retries + 1)
        if wait is None or time.monotonic() - self._started + wait > self.policy.deadline:
            return False
        self.retries += 1
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay seconds or an HTTP date.

    >>> parse_retry_after("7"), parse_retry_after("soon")
    (7.0, None)
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT",
    ...                   now=datetime(2015, 10, 21, 7, 28, tzinfo=UTC))
    30.0
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
