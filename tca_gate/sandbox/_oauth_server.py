"""The OAuth 2.0 provider: authlib's authorization-code grant over the sandbox's tables.

Codes live 10 minutes, are bound to their client and to the ``redirect_uri`` the
authorize request named (none when it named none, RFC 6749 section 4.1.3), and are
claimed atomically when exchanged, so two exchanges of one code cannot both win.
Clients authenticate at the token endpoint with ``client_secret_post`` only.
Scopes travel comma-joined, as Tokenpass wrote them, so ``user tca`` is one unknown
scope. PKCE is optional: a code issued for a ``code_challenge`` needs its verifier.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationCodeMixin,
    AuthorizationServer,
    ClientMixin,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.errors import InvalidScopeError  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.grants import (  # type: ignore[import-untyped]
    AuthorizationCodeGrant,
)
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from starlette.responses import JSONResponse, Response

from tca_gate.tokenpass import SCOPES

from ._state import SandboxState


class _NoIssuedTokens(logging.Filter):
    """Drops authlib's DEBUG record of each token it issues ("Issue token %r to %r",
    "Grant token %r to %r"), which carries the access token in clear."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Issue token", "Grant token"))


# authlib's grants log through loggers named after their modules; filters on a logger
# do not reach records of its children, so the filter sits on each grant's own logger.
for _grant_logger in (
    "authlib.oauth2.rfc6749.grants.authorization_code",
    "authlib.oauth2.rfc6749.grants.refresh_token",
    "authlib.oauth2.rfc6749.grants.client_credentials",
    "authlib.oauth2.rfc6749.grants.implicit",
    "authlib.oauth2.rfc6749.grants.resource_owner_password_credentials",
):
    logging.getLogger(_grant_logger).addFilter(_NoIssuedTokens())

CODE_LIFETIME = 600


class OAuthClient(ClientMixin):  # type: ignore[misc]
    """An app as authlib sees it: confidential, authorization code only."""

    def __init__(self, row: sqlite3.Row) -> None:
        self.client_id: str = row["client_id"]
        self.name: str = row["name"]
        self._secret: str = row["client_secret"]
        self._redirect_uris: list[str] = json.loads(row["redirect_uris"])

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self._redirect_uris[0]

    def get_allowed_scope(self, scope: str | None) -> str:
        return ",".join(dict.fromkeys((scope or "user").split(",")))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self._redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self._secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_post"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


class _Code(AuthorizationCodeMixin):  # type: ignore[misc]
    """A claimed authorization code."""

    def __init__(self, row: sqlite3.Row) -> None:
        self.code: str = row["code"]
        self.user_id: int = row["user_id"]
        self._redirect_uri: str | None = row["redirect_uri"]
        self._scope: str = row["scope"]
        self.code_challenge: str | None = row["code_challenge"]
        self.code_challenge_method: str | None = row["code_challenge_method"]

    def get_redirect_uri(self) -> str | None:
        return self._redirect_uri

    def get_scope(self) -> str:
        return self._scope


class _Payload(OAuth2Payload):  # type: ignore[misc]
    """Request parameters as authlib reads them."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self._datalist: dict[str, list[str]] = {}
        for key, value in items:
            self._datalist.setdefault(key, []).append(value)
        self._data = {key: values[-1] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class OAuthRequest(OAuth2Request):  # type: ignore[misc]
    """A Starlette request's method, URL, headers and parameters, for authlib."""

    def __init__(
        self, method: str, url: str, headers: Mapping[str, str], items: Sequence[tuple[str, str]]
    ) -> None:
        super().__init__(method, url, headers=dict(headers))
        self.payload = _Payload(items)

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_post",)

    @property
    def _state(self) -> SandboxState:
        state: SandboxState = self.server.state
        return state

    def save_authorization_code(self, code: str, request: OAuthRequest) -> None:
        redirect_uri = request.payload.redirect_uri or None
        challenge = request.payload.data.get("code_challenge") or None
        method = request.payload.data.get("code_challenge_method") or None
        with self._state.store.transaction() as db:
            db.execute(
                "INSERT INTO auth_codes (code, client_id, user_id, redirect_uri, scope,"
                " code_challenge, code_challenge_method, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    code,
                    request.client.client_id,
                    request.user["id"],
                    redirect_uri,
                    request.scope,
                    challenge,
                    method,
                    self._state.clock() + CODE_LIFETIME,
                ),
            )

    def query_authorization_code(self, code: str, client: OAuthClient) -> _Code | None:
        with self._state.store.transaction() as db:
            row = db.execute(
                "UPDATE auth_codes SET used = 1 WHERE code = ? AND client_id = ? AND used = 0"
                " AND expires_at > ? RETURNING *",
                (code, client.client_id, self._state.clock()),
            ).fetchone()
        return None if row is None else _Code(row)

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        with self._state.store.transaction() as db:
            db.execute("DELETE FROM auth_codes WHERE code = ?", (authorization_code.code,))

    def authenticate_user(self, authorization_code: _Code) -> sqlite3.Row | None:
        with self._state.store.transaction() as db:
            row: sqlite3.Row | None = db.execute(
                "SELECT * FROM users WHERE id = ?", (authorization_code.user_id,)
            ).fetchone()
        return row


class SandboxAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """authlib's authorization server over the sandbox's database."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.state = state
        self.register_grant(_CodeGrant, [CodeChallenge(required=False)])
        self.register_token_generator("default", self._bearer_token)

    def validate_requested_scope(self, scope: str | None) -> None:
        """Every comma-separated scope must be known (a space-joined list is not)."""
        if scope and not set(scope.split(",")) <= set(SCOPES):
            raise InvalidScopeError

    def query_client(self, client_id: str) -> OAuthClient | None:
        with self.state.store.transaction() as db:
            row = db.execute("SELECT * FROM clients WHERE client_id = ?", (client_id,)).fetchone()
        return None if row is None else OAuthClient(row)

    def save_token(self, token: Mapping[str, Any], request: OAuthRequest) -> None:
        with self.state.store.transaction() as db:
            db.execute(
                "INSERT INTO access_tokens (token, client_id, user_id, scope, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    token["access_token"],
                    request.client.client_id,
                    request.user["id"],
                    token["scope"],
                    self.state.clock() + token["expires_in"],
                ),
            )

    def _bearer_token(self, *, scope: str, **_: object) -> dict[str, object]:
        return {
            "access_token": secrets.token_urlsafe(32),
            "token_type": "Bearer",
            "expires_in": self.state.token_lifetime,
            "scope": scope,
        }

    def create_oauth2_request(self, request: OAuthRequest) -> OAuthRequest:
        """Requests arrive already adapted (``OAuthRequest``)."""
        return request

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        """authlib's hook for framework signals; the sandbox has none."""

    def handle_response(
        self, status: int, body: object, headers: Sequence[tuple[str, str]]
    ) -> Response:
        if isinstance(body, dict):
            return JSONResponse(body, status, headers=dict(headers))
        return Response(str(body or ""), status, headers=dict(headers))
