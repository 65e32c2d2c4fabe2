"""``TokensNetAuth``: an ``httpx2.Auth`` that signs every attempt with a fresh nonce.

A larger nonce that reaches the server first makes a smaller one fail (error 111), so
one auth sends its signed requests one at a time, each drawing its nonce only once it
may go (threads wait on a lock, tasks on an asyncio lock of their loop). Clients in
other processes, or other auths of the same key, can still overtake a request: an
answer of error 111 means the server did nothing, so the request is signed again
with a new nonce and resent, up to ``nonce_retries`` times (for POST as well).
"""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from collections.abc import AsyncGenerator, Generator

import httpx2

from tca_gate.errors import InvalidArgumentError

from ._nonces import NonceSource, shared_nonces
from ._scheme import signing_headers

#: The error code of a nonce not above the key's last one.
NONCE_TOO_LOW = 111

#: How often a request refused for its nonce is signed again and resent.
DEFAULT_NONCE_RETRIES = 3


class TokensNetAuth(httpx2.Auth):
    """Signs with ``api_key`` and ``secret``; nonces from ``nonces`` (the key's shared
    in-memory source by default; pass a ``FileNonces`` to survive restarts)."""

    def __init__(
        self,
        api_key: str,
        secret: str,
        *,
        nonces: NonceSource | None = None,
        nonce_retries: int = DEFAULT_NONCE_RETRIES,
    ) -> None:
        if not isinstance(api_key, str) or not isinstance(secret, str) or not api_key or not secret:
            raise InvalidArgumentError("Tokens.net signing needs a non-empty api_key and secret")
        if isinstance(nonce_retries, bool) or not isinstance(nonce_retries, int):
            raise InvalidArgumentError("nonce_retries must be an int")
        if nonce_retries < 0:
            raise InvalidArgumentError("nonce_retries must not be negative")
        self._api_key = api_key
        self._secret = secret
        self.nonces = nonces if nonces is not None else shared_nonces(api_key)
        self.nonce_retries = nonce_retries
        self._thread_lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"TokensNetAuth(api_key={self._api_key!r}, nonces={self.nonces!r})"

    def sign(self, request: httpx2.Request) -> httpx2.Request:
        """``request`` with the three headers for a fresh nonce."""
        request.headers.update(
            signing_headers(self._api_key, self._secret, self.nonces.next_nonce())
        )
        return request

    def sync_auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        with self._thread_lock:
            for attempt in range(self.nonce_retries + 1):
                response = yield self.sign(request)
                response.read()
                if attempt == self.nonce_retries or not nonce_refused(response):
                    return

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        loop = asyncio.get_running_loop()
        lock = self._loop_locks.setdefault(loop, asyncio.Lock())
        async with lock:
            for attempt in range(self.nonce_retries + 1):
                response = yield self.sign(request)
                await response.aread()
                if attempt == self.nonce_retries or not nonce_refused(response):
                    return


def nonce_refused(response: httpx2.Response) -> bool:
    """Whether ``response`` is Tokens.net's error 111 (the nonce was too low)."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and body.get("errorCode") == NONCE_TOO_LOW
