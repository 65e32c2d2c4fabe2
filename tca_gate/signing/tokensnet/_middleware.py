"""``TokensNetAuthMiddleware``: refuse requests without valid Tokens.net signing (pure ASGI)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Scope, Send

from tca_gate.errors import TokensNetSignatureError
from tca_gate.signing.verifying import Refusal, Refusals, VerifyingMiddleware

from ._verify import NonceLedger, VerifiedRequest, verify_tokensnet_request


def private_paths(path: str) -> bool:
    """The paths Tokens.net signs: those under ``/private/``."""
    return path.startswith("/private/")


def _document_refusal(refusal: Refusal) -> dict[str, object]:
    """A refusal in the document's shape; its ``errorCode`` is the scheme's code."""
    error = refusal.error
    code = error.code if isinstance(error, TokensNetSignatureError) else refusal.status
    return error_body(code, refusal.reason)


class TokensNetAuthMiddleware(VerifyingMiddleware[VerifiedRequest]):
    """Checks the signing of each request to a protected path (``/private/...`` by default).

    ``protect`` judges the path the app routes (without the ``root_path`` a proxy or a
    Starlette ``Mount`` put before it), so a protected route is protected however the
    app is mounted.

    A refused request gets 401 with the document's error shape,
    ``{"timestamp": ..., "status": "error", "errorCode": N, "reason": ...}``; an
    accepted one reaches the app with the ``VerifiedRequest`` in
    ``scope["state"]["tokensnet"]`` (``request.state.tokensnet``). ``ledger`` holds
    each key's last nonce (a new one by default), refusing any nonce not above it (111).
    The signature covers no body, so the body is left for the app to read.
    """

    state_key = "tokensnet"
    refusals = Refusals(body=_document_refusal)
    reads_body = False

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_for: Callable[[str], str | None] | Mapping[str, str],
        ledger: NonceLedger | None = None,
        protect: Callable[[str], bool] = private_paths,
    ) -> None:
        super().__init__(app, protect=protect, max_body=None)
        self.secret_for = secret_for
        self.ledger = ledger if ledger is not None else NonceLedger()

    async def verify(self, scope: Scope, body: bytes) -> VerifiedRequest:
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
        ]
        return verify_tokensnet_request(headers, secret_for=self.secret_for, ledger=self.ledger)


def error_body(code: int, reason: str) -> dict[str, object]:
    """The document's error answer."""
    return {"timestamp": int(time.time()), "status": "error", "errorCode": code, "reason": reason}


async def send_error(send: Send, status: int, code: int, reason: str) -> None:
    """Answer with the document's error shape."""
    body = json.dumps(error_body(code, reason)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
