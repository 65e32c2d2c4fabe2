"""When a failed call is tried again, and how long to wait first (``Retry-After`` included)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from tca_gate._service_errors import RateLimitError, ServerError, ServiceUnavailableError

#: 5xx answers that another attempt cannot change.
_PERMANENT_SERVER_STATUSES = frozenset({501, 505})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries for idempotent calls: exponential backoff with jitter, honouring ``Retry-After``.

    Up to ``retries`` more attempts after the first, within ``timeout`` seconds in
    all, on connection failures, timeouts, 429 and 5xx. A ``Retry-After`` longer than
    ``max_retry_after`` is not waited for: the error is raised at once, its
    ``retry_after`` set. Calls that are not idempotent (POST, PATCH) are never retried.
    """

    retries: int = 3
    wait_initial: float = 0.2
    wait_max: float = 5.0
    wait_jitter: float = 0.5
    max_retry_after: float = 30.0
    timeout: float = 45.0

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int):
            raise TypeError(f"retries must be an int, not {type(self.retries).__name__}")
        for name in ("retries", "wait_initial", "wait_max", "wait_jitter", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")

    @classmethod
    def of(cls, retries: RetryPolicy | int) -> RetryPolicy:
        """A policy from a policy or from a number of retries."""
        return retries if isinstance(retries, RetryPolicy) else cls(retries=retries)

    def stamina_options(self) -> dict[str, Any]:
        """The arguments of ``stamina.RetryingCaller`` for this policy."""
        return {
            "attempts": self.retries + 1,
            "timeout": self.timeout,
            "wait_initial": self.wait_initial,
            "wait_max": self.wait_max,
            "wait_jitter": self.wait_jitter,
        }

    def backoff_for(self, error: Exception) -> bool | float:
        """stamina's hook: whether to retry after ``error``, or the seconds to wait first."""
        if isinstance(error, ServiceUnavailableError):
            return True
        if isinstance(error, RateLimitError) or (
            isinstance(error, ServerError) and error.status not in _PERMANENT_SERVER_STATUSES
        ):
            if error.retry_after is None:
                return True
            return float(error.retry_after) if error.retry_after <= self.max_retry_after else False
        return False


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
