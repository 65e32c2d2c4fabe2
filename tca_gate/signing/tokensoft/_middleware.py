"""``TokensoftAuthMiddleware``: refuse GraphQL requests without a valid Tokensoft signature."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from tca_gate.errors import TokensoftSignatureError
from tca_gate.signing.replay import AsyncReplayStore, ReplayStore
from tca_gate.signing.verifying import Refusal, Refusals, VerifyingMiddleware, claim_once
from tca_gate.wire.asgi import DEFAULT_MAX_BODY, respond_json

from ._scheme import SIGN_HEADER, is_time_query
from ._verify import (
    DEFAULT_WINDOW,
    TokensoftSignedRequest,
    server_time_ms,
    verify_tokensoft_request,
)


def _graphql_refusal(refusal: Refusal) -> dict[str, Any]:
    """A refusal as ``{"error", "message"}`` plus GraphQL's ``errors``, which clients read."""
    error = {"message": refusal.message, "extensions": {"code": refusal.reason}}
    return {"error": refusal.reason, "message": refusal.message, "errors": [error]}


class TokensoftAuthMiddleware(VerifyingMiddleware[TokensoftSignedRequest | None]):
    """Checks every HTTP request's Tokensoft signature before the app sees it (pure ASGI).

    Only POST is allowed (405 ``method-not-allowed`` otherwise). The ``{ time }`` query,
    which clients send unsigned to learn the time they sign with, is answered here
    (``{"data": {"time": clock()}}``), never handed to the app; every other request must
    verify, or
    gets 401 with ``{"error": reason, "message": ..., "errors": [...]}`` (the reason is
    ``TokensoftSignatureError``'s, also in ``errors[0].extensions.code``). An accepted one
    reaches the app with the ``TokensoftSignedRequest`` in ``request.state.tokensoft``.
    ``clock`` gives the server's time in epoch ms; ``protect`` chooses the paths checked
    (all by default), judging the path the app routes: without the ``root_path`` a proxy
    or a Starlette ``Mount`` put before it.
    The signature covers the timestamp and body only, not the path or query string. With
    a ``replay_store``, each signed request is accepted once within its window.
    """

    state_key = "tokensoft"
    refusals = Refusals(body=_graphql_refusal, post_only="GraphQL requests are POSTs")

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_for: Callable[[str], str | None] | Mapping[str, str],
        window: float = DEFAULT_WINDOW,
        clock: Callable[[], int] = server_time_ms,
        protect: Callable[[str], bool] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        replay_store: ReplayStore | AsyncReplayStore | None = None,
    ) -> None:
        super().__init__(app, protect=protect, max_body=max_body)
        self.secret_for = secret_for
        self.window = window
        self.clock = clock
        self.replay_store = replay_store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except _TimeAsked:  # answered here: nothing unsigned reaches the app
            await respond_json(scope, send, 200, {"data": {"time": self.clock()}})

    async def verify(self, scope: Scope, body: bytes) -> TokensoftSignedRequest | None:
        if is_time_query(body):
            raise _TimeAsked
        headers = Headers(scope=scope)
        signed = verify_tokensoft_request(
            headers,
            body,
            secret_for=self.secret_for,
            now_ms=self.clock(),
            window=self.window,
        )
        key = f"tokensoft:{signed.access_key}:{signed.timestamp}:{headers[SIGN_HEADER]}"
        await claim_once(self.replay_store, key, 2 * self.window, _replayed)
        return signed


class _TimeAsked(Exception):  # noqa: N818 (a signal, not an error)
    """The body is the unsigned ``{ time }`` query: the middleware answers it itself."""


def _replayed() -> TokensoftSignatureError:
    return TokensoftSignatureError("replayed-request", "this signed request was already used")
