"""Injected faults: the next N API requests under a prefix answer 5xx, 429 or slowly.

They let client retry tests run against a real server. ``FaultMiddleware`` is pure
ASGI and touches only ``/api/`` and ``/oauth/`` paths, never ``/sandbox/``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

_FAULTABLE = ("/api/", "/oauth/")


@dataclass(frozen=True, slots=True)
class Fault:
    """One queued fault: answer ``status`` (after ``delay`` seconds), or only wait when 200."""

    status: int
    path_prefix: str
    retry_after: int | None
    delay: float


class FaultQueue:
    """Faults waiting for requests, first queued first used; safe across threads."""

    def __init__(self) -> None:
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()

    def add(self, fault: Fault, count: int) -> int:
        """Queue ``count`` copies of ``fault``; returns how many are queued in all."""
        with self._lock:
            self._faults.extend([fault] * count)
            return len(self._faults)

    def clear(self) -> int:
        """Drop every queued fault; returns how many there were."""
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
            return count

    def take(self, path: str) -> Fault | None:
        """The first queued fault whose prefix ``path`` starts with, removed from the queue."""
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix):
                    self._faults.remove(fault)
                    return fault
        return None


class FaultMiddleware:
    """Answers API requests with the queued faults before the app sees them."""

    def __init__(self, app: ASGIApp, faults: FaultQueue) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        fault = None
        if scope["type"] == "http" and path.startswith(_FAULTABLE):
            fault = self.faults.take(path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status < 300:  # a slow answer, not a wrong one
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": f"injected fault: HTTP {fault.status}"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if fault.retry_after is not None:
            headers.append((b"retry-after", str(fault.retry_after).encode()))
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
