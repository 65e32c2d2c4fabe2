"""``TDXAuth`` (API key and secret, signed per attempt) and ``TDXBearerAuth`` (a JWT)."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator

import httpx2

from tca_gate.errors import InvalidArgumentError

from ._scheme import (
    authorization,
    decode_secret,
    hash_to_sign,
    new_nonce,
    now_ms,
    string_to_hash,
    tdx_signature,
)


class TDXAuth(httpx2.Auth):
    """``TDXV1-HMAC-SHA256`` with ``api_key`` and the hex ``api_secret``.

    Every attempt (a retry too) gets a fresh UUIDv4 nonce and the current UTC
    millisecond timestamp, and is signed over exactly what httpx2 sends: the ``Host``
    header, the path and query as encoded, the ``Content-Type`` and the body.
    ``TDXAuth.bearer(token)`` is the alternative: a JWT from a user's login.
    """

    requires_request_body = True

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        clock: Callable[[], float] = time.time,
        nonces: Callable[[], str] = new_nonce,
    ) -> None:
        if not isinstance(api_key, str) or not api_key or any(c.isspace() for c in api_key):
            raise InvalidArgumentError("TDXAuth needs an api_key: non-empty, with no spaces")
        self._api_key = api_key
        self._key = decode_secret(api_secret)
        self._clock = clock
        self._nonces = nonces

    @property
    def api_key(self) -> str:
        """The API key requests are signed for."""
        return self._api_key

    @staticmethod
    def bearer(token: str) -> TDXBearerAuth:
        """Token authentication instead: ``Authorization: Bearer <token>``."""
        return TDXBearerAuth(token)

    def __repr__(self) -> str:
        return f"TDXAuth(api_key={self._api_key!r})"

    def authorization_for(self, request: httpx2.Request) -> str:
        """The ``Authorization`` value for one attempt of ``request``."""
        nonce, timestamp = self._nonces(), now_ms(self._clock())
        text = string_to_hash(
            api_key=self._api_key,
            nonce=nonce,
            timestamp=timestamp,
            method=request.method,
            host=request.headers.get("host", request.url.netloc.decode("ascii")),
            path=request.url.raw_path.partition(b"?")[0],
            query=request.url.query,
            content_type=request.headers.get("content-type", ""),
            body=request.content,
        )
        signature = tdx_signature(hash_to_sign(text), self._key)
        return authorization(self._api_key, nonce, timestamp, signature)

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = self.authorization_for(request)
        yield request


class TDXBearerAuth(httpx2.Auth):
    """``Authorization: Bearer <token>``, the JWT a user's login (with MFA) gives."""

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token or any(c.isspace() for c in token):
            raise InvalidArgumentError("TDXBearerAuth needs a token: non-empty, with no spaces")
        self._token = token

    def __repr__(self) -> str:
        return "TDXBearerAuth(token=...)"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request
