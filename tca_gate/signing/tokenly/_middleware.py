"""``TokenlyAuthMiddleware``: refuse HTTP requests without valid Tokenly HMAC auth (pure ASGI)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from tca_gate.errors import ReplayStoreUnavailableError, TokenlySignatureError
from tca_gate.signing.replay import AsyncReplayStore, ReplayStore, claim
from tca_gate.wire.asgi import DEFAULT_MAX_BODY, read_body, refuse, replay_body, route_path
from tca_gate.wire.urls import signed_url

from ._scheme import DEFAULT_WINDOW, check_tokenly_signature, replayed


class TokenlyAuthMiddleware:
    """Checks every HTTP request's Tokenly HMAC auth before the app sees it.

    A refused request gets 401 with ``{"error": reason, "message": ...}`` (the
    reason is one of ``TokenlySignatureError``'s); an accepted one reaches the app
    with the ``SignedRequest`` in ``request.state.tokenly``. ``protect`` chooses the
    paths to check (all by default); it is given the path as the app routes it (without
    a proxy's ``root_path`` or the prefix of the ``Mount`` the middleware sits in).
    Behind a proxy, pass ``public_url`` (the scheme and host clients sign) since the
    app may see another.
    """

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
        self.app = app
        self.secret_for = secret_for
        self.window = window
        self.replay_store = replay_store
        self.protect = protect
        self.public_url = public_url.rstrip("/") if public_url else None
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.protect and not self.protect(route_path(scope))):
            await self.app(scope, receive, send)
            return
        body, more = await read_body(receive, self.max_body)
        if more:
            await refuse(scope, send, 413, "body-too-large", "the request body is too large")
            return
        try:
            signed = check_tokenly_signature(
                scope["method"],
                signed_url(scope, self.public_url),
                Headers(scope=scope),
                secret_for=self.secret_for,
                body=body,
                query=scope.get("query_string"),
                window=self.window,
            )
            if self.replay_store is not None and not await claim(
                self.replay_store, signed.replay_key, 2 * self.window
            ):
                raise replayed()
        except TokenlySignatureError as error:
            await refuse(scope, send, 401, error.reason, str(error))
            return
        except ReplayStoreUnavailableError:
            await refuse(
                scope, send, 503, "replay-store-unavailable", "the replay store cannot be reached"
            )
            return
        scope.setdefault("state", {})["tokenly"] = signed
        await self.app(scope, replay_body(body, receive), send)
