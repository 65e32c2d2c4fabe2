"""``TokensoftAuthMiddleware``: refuse GraphQL requests without a valid Tokensoft signature."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from tca_gate.errors import TokensoftSignatureError
from tca_gate.wire.asgi import DEFAULT_MAX_BODY, read_body, replay_body, respond_json, route_path

from ._scheme import is_time_query
from ._verify import DEFAULT_WINDOW, server_time_ms, verify_tokensoft_request


class TokensoftAuthMiddleware:
    """Checks every HTTP request's Tokensoft signature before the app sees it (pure ASGI).

    Only POST is allowed (405 ``method-not-allowed`` otherwise). The ``{ time }`` query
    passes unsigned, as clients need it to sign; every other request must verify, or
    gets 401 with ``{"error": reason, "message": ..., "errors": [...]}`` (the reason is
    ``TokensoftSignatureError``'s, also in ``errors[0].extensions.code``). An accepted one
    reaches the app with the ``TokensoftSignedRequest`` in ``request.state.tokensoft``.
    ``clock`` gives the server's time in epoch ms; ``protect`` chooses the paths checked
    (all by default), judging the path the app routes: without the ``root_path`` a proxy
    or a Starlette ``Mount`` put before it.
    The signature covers the timestamp and body only, not the path or query string.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_for: Callable[[str], str | None] | Mapping[str, str],
        window: float = DEFAULT_WINDOW,
        clock: Callable[[], int] = server_time_ms,
        protect: Callable[[str], bool] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.app = app
        self.secret_for = secret_for
        self.window = window
        self.clock = clock
        self.protect = protect
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.protect and not self.protect(route_path(scope))):
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _refuse(scope, send, 405, "method-not-allowed", "GraphQL requests are POSTs")
            return
        body, more = await read_body(receive, self.max_body)
        if more:
            await _refuse(scope, send, 413, "body-too-large", "the request body is too large")
            return
        if not is_time_query(body):
            try:
                signed = verify_tokensoft_request(
                    Headers(scope=scope),
                    body,
                    secret_for=self.secret_for,
                    now_ms=self.clock(),
                    window=self.window,
                )
            except TokensoftSignatureError as error:
                await _refuse(scope, send, 401, error.reason, str(error))
                return
            scope.setdefault("state", {})["tokensoft"] = signed
        await self.app(scope, replay_body(body, receive), send)


async def _refuse(scope: Scope, send: Send, status: int, reason: str, message: str) -> None:
    content = {
        "error": reason,
        "message": message,
        "errors": [{"message": message, "extensions": {"code": reason}}],
    }
    await respond_json(scope, send, status, content, _allow(status))


def _allow(status: int) -> dict[str, str] | None:
    return {"Allow": "POST"} if status == 405 else None
