"""``TokensoftAuth``: an ``httpx2.Auth`` that signs every attempt with the server's time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator

import httpx2

from tca_gate.errors import InvalidArgumentError, MalformedResponseError
from tca_gate.wire.urls import signing_url

from ._scheme import (
    KEY_HEADER,
    SERVICE,
    SIGN_HEADER,
    TIMESTAMP_HEADER,
    time_body,
    time_value,
    tokensoft_signature,
)

#: How long the server's time is trusted after it was asked, in seconds.
DEFAULT_TIME_CACHE = 60.0

_COPIED_HEADERS = ("user-agent", "accept")


class TokensoftAuth(httpx2.Auth):
    """Signs each attempt: ``access-sign`` over the server's time and the exact body sent.

    The timestamp is the server's: the ``{ time }`` query (unauthenticated, to the same
    URL) is asked first, and its answer is kept with the local monotonic clock for
    ``time_cache`` seconds, so later attempts send the server's time now (its answer plus
    the time elapsed here) without asking again; ``time_cache=0`` asks before every
    attempt. A 401 answer forgets the kept time, so the next attempt asks afresh. The
    local wall clock is never used, so its skew does not matter.
    """

    requires_request_body = True
    requires_response_body = True

    def __init__(
        self,
        access_key: str,
        secret: str,
        *,
        time_cache: float = DEFAULT_TIME_CACHE,
        monotonic: Callable[[], float] = time.monotonic,
        read_time: Callable[[httpx2.Response], int] | None = None,
    ) -> None:
        if not isinstance(access_key, str) or not access_key or not access_key.isprintable():
            raise InvalidArgumentError("access_key must be a non-empty, printable str")
        if not isinstance(secret, str) or not secret:
            raise InvalidArgumentError("secret must be a non-empty str")
        if isinstance(time_cache, bool) or not isinstance(time_cache, (int, float)):
            raise InvalidArgumentError("time_cache must be seconds (a number)")
        if not time_cache >= 0:
            raise InvalidArgumentError("time_cache must not be negative")
        self._access_key = access_key
        self._secret = secret
        self._time_cache_ms = time_cache * 1000
        self._monotonic = monotonic
        self._read_time = read_time or answered_time
        #: The server's time (epoch ms) and the local monotonic ms when it was answered.
        self._known: tuple[int, float] | None = None

    def __repr__(self) -> str:
        return f"TokensoftAuth(access_key={self._access_key!r})"

    def forget_time(self) -> None:
        """Drop the kept server time: the next attempt asks the server again."""
        self._known = None

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        timestamp = self._server_now()
        if timestamp is None:
            answer = yield self._time_request(request)
            timestamp = self._read_time(answer)
            self._known = (timestamp, self._now_ms())
        body = request.content
        request.headers[KEY_HEADER] = self._access_key
        request.headers[TIMESTAMP_HEADER] = str(timestamp)
        request.headers[SIGN_HEADER] = tokensoft_signature(self._secret, str(timestamp), body)
        response = yield request
        if response.status_code == httpx2.codes.UNAUTHORIZED:
            self.forget_time()

    def _now_ms(self) -> float:
        return self._monotonic() * 1000

    def _server_now(self) -> int | None:
        """The server's time now, from the kept answer; ``None`` when it must be asked."""
        known = self._known
        if known is None or self._time_cache_ms == 0:
            return None
        server_ms, local_ms = known
        elapsed = self._now_ms() - local_ms
        if not 0 <= elapsed < self._time_cache_ms:
            return None
        return server_ms + int(elapsed)

    @staticmethod
    def _time_request(request: httpx2.Request) -> httpx2.Request:
        """The ``{ time }`` query to the URL ``request`` goes to."""
        headers = {"Content-Type": "application/json"}
        for name in _COPIED_HEADERS:
            if name in request.headers:
                headers[name] = request.headers[name]
        return httpx2.Request(
            "POST", request.url, content=time_body(), headers=headers, extensions=request.extensions
        )


def answered_time(response: httpx2.Response) -> int:
    """The epoch milliseconds a ``{ time }`` answer gives, or ``MalformedResponseError``.

    The Tokensoft client reads the answer with its GraphQL reader instead (``read_time``),
    which also raises the server's GraphQL ``errors`` as such.
    """
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        body = None
    data = body.get("data") if isinstance(body, dict) else None
    found = time_value(data.get("time")) if isinstance(data, dict) else None
    if not response.is_success or found is None:
        raise MalformedResponseError(
            "the { time } answer gives no epoch milliseconds",
            service=SERVICE,
            method=response.request.method,
            url=signing_url(str(response.request.url)),
            status=response.status_code,
            field="data.time",
        )
    return found
