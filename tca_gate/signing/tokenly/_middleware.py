"""``TokenlyAuthMiddleware``: refuse HTTP requests without valid Tokenly HMAC auth (pure ASGI)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Scope

from tca_gate.signing.replay import AsyncReplayStore, ReplayStore
from tca_gate.signing.verifying import VerifyingMiddleware, claim_once
from tca_gate.wire.asgi import DEFAULT_MAX_BODY
from tca_gate.wire.urls import signed_url

from ._scheme import DEFAULT_WINDOW, SignedRequest, check_tokenly_signature, replayed


class TokenlyAuthMiddleware(VerifyingMiddleware[SignedRequest]):
    """Checks every HTTP request's Tokenly HMAC auth before the app sees it.

    A refused request gets 401 with ``{"error": reason, "message": ...}`` (the
    reason is one of ``TokenlySignatureError``'s); an accepted one reaches the app
    with the ``SignedRequest`` in ``request.state.tokenly``. With a ``replay_store``
    each signed request is accepted once; a store that fails refuses with 503. ``protect``
    chooses the paths to check (all by default); it is given the path as the app routes it
    (without a proxy's ``root_path`` or the prefix of the ``Mount`` the middleware sits in).
    Behind a proxy, pass ``public_url`` (the scheme and host clients sign) since the
    app may see another.
    """

    state_key = "tokenly"

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_for: Callable[[str], str | None] | Mapping[str, str],
        window: float = DEFAULT_WINDOW,
        replay_store: ReplayStore | AsyncReplayStore | None = None,
        protect: Callable[[str], bool] | None = None,
        public_url: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        super().__init__(app, protect=protect, max_body=max_body)
        self.secret_for = secret_for
        self.window = window
        self.replay_store = replay_store
        self.public_url = public_url.rstrip("/") if public_url else None

    async def verify(self, scope: Scope, body: bytes) -> SignedRequest:
        signed = check_tokenly_signature(
            scope["method"],
            signed_url(scope, self.public_url),
            Headers(scope=scope),
            secret_for=self.secret_for,
            body=body,
            query=scope.get("query_string"),
            window=self.window,
        )
        await claim_once(self.replay_store, signed.replay_key, 2 * self.window, replayed)
        return signed
