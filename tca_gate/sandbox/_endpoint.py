"""One API endpoint: parse the request, check app and user auth, run the handler in one transaction.

Handlers are plain functions of a ``Call`` that return the JSON answer; every
refusal is an ``ApiError``. The app (``client_id``) comes from Tokenly HMAC auth,
the user from the ``oauth_token`` parameter or an ``Authorization: Bearer`` header
(the official PHP client sends either), which must have been issued to that same app
and carry the scope the endpoint names.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tca_gate.errors import TokenlySignatureError
from tca_gate.signing.tokenly import verify_tokenly_request
from tca_gate.wire.urls import signed_url

from ._api_error import ApiError
from ._bodies import MAX_BODY, read_body
from ._params import Params
from ._state import SandboxState

#: none, the sandbox admin token, Tokenly HMAC, HMAC of a privileged app, HMAC and a user.
Auth = Literal["none", "admin", "hmac", "privileged", "user"]
#: The methods whose parameters travel in the body (and are signed over it).
BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})
_SIGNED = frozenset({"hmac", "privileged", "user"})


@dataclass(frozen=True, slots=True)
class Call:
    """Everything a handler may read about its request, and the open transaction."""

    db: sqlite3.Connection
    params: Params
    path: Mapping[str, Any]
    query: str
    client_id: str | None
    user: sqlite3.Row | None
    scopes: frozenset[str]
    now: float
    state: SandboxState
    token: str | None = None

    @property
    def app_id(self) -> str:
        """The calling app's ``client_id`` (endpoints with HMAC auth always have one)."""
        assert self.client_id is not None
        return self.client_id

    @property
    def account(self) -> sqlite3.Row:
        """The user the ``oauth_token`` belongs to (endpoints with user auth always have one)."""
        assert self.user is not None
        return self.user


Handler = Callable[[Call], object]
Endpoint = Callable[[Request], Awaitable[Response]]


def api(handler: Handler, *, auth: Auth, scope: str | None = None, result: bool = True) -> Endpoint:
    """A Starlette endpoint running ``handler``; ``result`` adds ``"result": false`` to errors."""

    async def endpoint(request: Request) -> Response:
        state: SandboxState = request.app.state.sandbox
        try:
            raw, params = await read_params(request)
            with state.store.transaction() as db:
                if auth == "admin":
                    _admin(request, state)
                client_id = _app(request, raw, params, db, state) if auth in _SIGNED else None
                if auth == "privileged":
                    _privileged(db, client_id)
                user, scopes, token = None, frozenset[str](), None
                if auth == "user":
                    token = user_token(request, params)
                    user, scopes = _user(token, db, state, client_id, scope)
                call = Call(
                    db=db,
                    params=Params(params),
                    path=request.path_params,
                    query=request.url.query,
                    client_id=client_id,
                    user=user,
                    scopes=scopes,
                    now=state.clock(),
                    state=state,
                    token=token,
                )
                answer = handler(call)
        except ApiError as error:
            return error.response(with_result=result)
        return JSONResponse(answer)

    return endpoint


async def read_params(request: Request) -> tuple[bytes, dict[str, object]]:
    """The raw body and the parameters: the query for GET and DELETE, else a JSON or form body."""
    if request.method not in BODY_METHODS:
        return b"", dict(request.query_params)
    raw = await read_body(request, MAX_BODY)
    if not raw.strip():
        return raw, {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return raw, dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        document = json.loads(raw)
        if isinstance(document, dict):
            _check_encodable(document)
    except (ValueError, RecursionError):
        raise ApiError(400, "the body is not valid JSON", field="body") from None
    if not isinstance(document, dict):
        raise ApiError(400, "the body must be a JSON object", field="body")
    return raw, document


def _check_encodable(value: object, where: str = "body") -> None:
    """400 naming the field whose text is not valid Unicode (a lone surrogate from ``\\ud800``)."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ApiError(
                400, f"{where} holds text that is not valid Unicode", field=where
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_encodable(key)
            _check_encodable(item, key if where == "body" else f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_encodable(item, f"{where}[{index}]")


def _app(
    request: Request,
    raw: bytes,
    params: dict[str, object],
    db: sqlite3.Connection,
    state: SandboxState,
) -> str:
    """The ``client_id`` whose Tokenly HMAC signature the request carries; 401 otherwise.

    What may have been signed is ``signed_params``'s to say (one rule for every verifier).
    """

    def secret_for(client_id: str) -> str | None:
        row = db.execute(
            "SELECT client_secret FROM clients WHERE client_id = ?", (client_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    has_body = request.method in BODY_METHODS
    try:
        signed = verify_tokenly_request(
            request.method,
            signed_url(request.scope),
            request.headers,
            secret_for=secret_for,
            params=params if has_body or request.method == "DELETE" else None,
            body=raw if has_body else None,
            query=request.scope.get("query_string"),
            window=state.hmac_window,
            replay_store=state.replay_store,
        )
    except TokenlySignatureError as error:
        raise ApiError(401, f"API authentication failed: {error}") from None
    return signed.api_token


def _admin(request: Request, state: SandboxState) -> None:
    """The ``Authorization: Bearer`` admin token, when the sandbox has one; 401 otherwise."""
    if state.admin_token is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), state.admin_token.encode()
    ):
        raise ApiError(
            401,
            "the sandbox admin token is missing or wrong",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _privileged(db: sqlite3.Connection, client_id: str | None) -> None:
    """403 unless the signing app is privileged (the PHP client's "privileged auth" calls)."""
    row = db.execute("SELECT privileged FROM clients WHERE client_id = ?", (client_id,)).fetchone()
    if row is None or not row[0]:
        raise ApiError(403, "this call is for privileged apps only")


def user_token(request: Request, params: Mapping[str, object]) -> str:
    """The user's access token: the ``oauth_token`` parameter or ``Authorization: Bearer``.

    401 when neither carries one; 400 when both do and they differ (the server must not
    pick one of two identities).
    """
    given = params.get("oauth_token")
    if given is not None and not isinstance(given, str):
        raise ApiError(400, "oauth_token must be a string", field="oauth_token")
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    header = credentials.strip() if scheme.lower() == "bearer" else ""
    if given and header and not hmac.compare_digest(given.encode(), header.encode()):
        raise ApiError(
            400,
            "oauth_token and the Authorization header carry different tokens",
            field="oauth_token",
        )
    token = given or header
    if not token:
        raise ApiError(
            401,
            "oauth_token is required (as a parameter or an Authorization: Bearer header)",
            field="oauth_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token


def _user(
    token: str,
    db: sqlite3.Connection,
    state: SandboxState,
    client_id: str | None,
    scope: str | None,
) -> tuple[sqlite3.Row, frozenset[str]]:
    """The user and scopes of the access token; 401 or 403 otherwise."""
    row = db.execute(
        "SELECT users.*, access_tokens.client_id AS token_client, access_tokens.scope AS scope"
        " FROM access_tokens JOIN users ON users.id = access_tokens.user_id"
        " WHERE access_tokens.token = ? AND access_tokens.expires_at > ?",
        (token, state.clock()),
    ).fetchone()
    if row is None:
        raise ApiError(401, "the oauth_token is unknown or expired", field="oauth_token")
    if row["token_client"] != client_id:
        raise ApiError(403, "the oauth_token was issued to another app", field="oauth_token")
    scopes = frozenset(row["scope"].split(","))
    if scope is not None and scope not in scopes:
        raise ApiError(403, f"the oauth_token lacks the {scope!r} scope", field="oauth_token")
    return row, scopes
