"""``TDXAuthMiddleware``: refuse HTTP requests without valid TDX auth (pure ASGI)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Scope

from tca_gate.errors import TDXSignatureError
from tca_gate.signing.replay import AsyncReplayStore, MemoryReplayStore, ReplayStore
from tca_gate.signing.verifying import Refusals, VerifyingMiddleware, claim_once
from tca_gate.wire.asgi import DEFAULT_MAX_BODY

from ._scheme import WINDOW
from ._verify import TDXSignedRequest, check_tdx_signature, nonce_reused


@dataclass(frozen=True, slots=True)
class TDXBearerRequest:
    """A request let in by its bearer token (kept out of the repr)."""

    token: str = field(repr=False)


class TDXAuthMiddleware(VerifyingMiddleware[TDXSignedRequest | TDXBearerRequest]):
    """Checks every HTTP request's ``TDXV1-HMAC-SHA256`` auth before the app sees it.

    The timestamp must be within ``window`` (150 s) of the server's clock and each
    nonce is single use: it is claimed in ``nonce_store`` (in this process's memory
    by default; a ``RedisReplayStore`` for several workers) once the signature
    matches. A refused request gets 401 with ``{"error": reason, "message": ...}``;
    a nonce store that fails refuses with 503. An accepted request reaches the app
    with a ``TDXSignedRequest`` in ``request.state.tdx``. ``bearer`` (a check of a
    token) lets ``Authorization: Bearer <token>`` in too, as a ``TDXBearerRequest``.
    ``protect`` chooses the paths to check (all by default), judging the path the app
    routes: without the ``root_path`` a proxy or a Starlette ``Mount`` put before it.
    Behind a proxy, pass ``public_host`` (the host and port clients sign).
    """

    state_key = "tdx"
    refusals = Refusals(store="nonce store")

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_for: Callable[[str], str | None] | Mapping[str, str],
        window: float = WINDOW,
        nonce_store: ReplayStore | AsyncReplayStore | None = None,
        bearer: Callable[[str], bool] | None = None,
        protect: Callable[[str], bool] | None = None,
        public_host: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        super().__init__(app, protect=protect, max_body=max_body)
        self.secret_for = secret_for
        self.window = window
        self.nonce_store = nonce_store or MemoryReplayStore(ttl=2 * window)
        self.bearer = bearer
        self.public_host = public_host

    async def verify(self, scope: Scope, body: bytes) -> TDXSignedRequest | TDXBearerRequest:
        headers = Headers(scope=scope)
        authorizations = headers.getlist("authorization")
        if len(authorizations) > 1:
            raise TDXSignatureError(
                "malformed-authorization", "the request has more than one Authorization header"
            )
        scheme, _, token = (authorizations[0] if authorizations else "").strip().partition(" ")
        if self.bearer is not None and scheme.lower() == "bearer":
            if not token.strip() or not self.bearer(token.strip()):
                raise TDXSignatureError("bad-token", "the bearer token is not valid")
            return TDXBearerRequest(token.strip())
        raw_path: bytes | None = scope.get("raw_path")
        signed = check_tdx_signature(
            scope["method"],
            raw_path.partition(b"?")[0] if raw_path else scope["path"],
            scope.get("query_string", b""),
            headers,
            body,
            secret_for=self.secret_for,
            host=self.public_host,
            window=self.window,
        )
        await claim_once(self.nonce_store, signed.replay_key, 2 * self.window, nonce_reused)
        return signed
