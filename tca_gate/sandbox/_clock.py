"""Time as the sandbox reads and writes it: unix seconds inside, ``YYYY-MM-DD HH:MM:SS`` out."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

#: Where the sandbox gets the time: swap in a settable clock to test expiry without waiting.
Clock = Callable[[], float]


def system_clock() -> float:
    """The real time, in unix seconds."""
    return time.time()


def timestamp(unix: float) -> str:
    """``created_at`` / ``updated_at`` text, in UTC."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%S")
