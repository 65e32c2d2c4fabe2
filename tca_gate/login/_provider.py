"""Tokenpass as an OAuth 2 provider through authlib: the redirect, the code exchange, the user.

authlib keeps the state (and PKCE verifier) in the session and exchanges the code with
``client_secret_post``; this module maps every way that can fail to a ``LoginError``.
The user's token travels in ``Authorization: Bearer`` headers, never in a URL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.starlette_client import (  # type: ignore[import-untyped]
    OAuth,
    OAuthError,
)
from starlette.requests import Request
from starlette.responses import Response

from tca_gate.errors import LoginError
from tca_gate.signing.tokenly.auth import TokenlyAuth

from ._user import TokenpassUser

_UNREACHABLE: tuple[type[Exception], ...] = (httpx2.TransportError,)
_GARBLED: tuple[type[Exception], ...] = (httpx2.HTTPStatusError, ValueError)
_PROVIDER_DOWN = ("server_error", "temporarily_unavailable")
#: Where Tokenpass ends a user's token (the official client's ``oauth/logout``).
LOGOUT_PATH = "api/v1/oauth/logout"

_log = logging.getLogger("tca_gate.login")


@dataclass(frozen=True, slots=True)
class Grant:
    """What a finished login yields: the user and their token, its scopes and expiry."""

    user: TokenpassUser
    access_token: str
    scope: str
    expires_at: int | None


class TokenpassProvider:
    """Tokenpass's OAuth endpoints under ``base_url``, registered with authlib."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        scopes: Sequence[str],
        *,
        timeout: float,
        pkce: bool,
    ) -> None:
        self._scope = ",".join(scopes)
        client_kwargs: dict[str, Any] = {
            "scope": self._scope,
            "token_endpoint_auth_method": "client_secret_post",
            "token_placement": "header",
            "timeout": timeout,
        }
        if pkce:
            client_kwargs["code_challenge_method"] = "S256"
        self._signer = TokenlyAuth(client_id, client_secret)
        self._client = OAuth().register(
            "tokenpass",
            client_id=client_id,
            client_secret=client_secret,
            authorize_url=f"{base_url}/oauth/authorize",
            access_token_url=f"{base_url}/oauth/access-token",
            api_base_url=f"{base_url}/",
            client_kwargs=client_kwargs,
        )

    async def authorize_redirect(self, request: Request, redirect_uri: str) -> Response:
        """Send the browser to Tokenpass's authorize page, remembering the state in the session."""
        response: Response = await self._client.authorize_redirect(request, redirect_uri)
        return response

    async def finish(self, request: Request) -> Grant:
        """Check the callback's state, exchange its code and read the user; or a ``LoginError``."""
        if "error" not in request.query_params and not request.query_params.get("code"):
            raise LoginError(
                "invalid_request",
                "Tokenpass sent the browser back without a login code; start again.",
                400,
            )
        token = await self._guarded(self._client.authorize_access_token(request))
        access_token = token.get("access_token")
        expires_in = token.get("expires_in")
        scope = token.get("scope", self._scope)
        if (
            not isinstance(access_token, str)
            or not access_token
            or not isinstance(scope, str)
            or not (expires_in is None or type(expires_in) is int)
        ):
            raise _garbled()
        response = await self._guarded(self._client.get("oauth/user", token=token))
        if response.status_code >= 500:
            raise _garbled()
        if response.status_code != 200:
            raise LoginError(
                "invalid_token",
                "Tokenpass refused the access token it had just issued; start again.",
                400,
            )
        try:
            user = TokenpassUser.from_json(response.json())
        except ValueError as error:
            raise _garbled() from error
        expires_at = None if expires_in is None else int(time.time()) + expires_in
        return Grant(user, access_token, scope, expires_at)

    async def revoke(self, access_token: str) -> bool:
        """Have Tokenpass end ``access_token`` (``POST api/v1/oauth/logout``, signed by the
        app, the token as Bearer); whether it did. A failure is logged, without the token."""
        try:
            response = await self._client.post(
                LOGOUT_PATH,
                withhold_token=True,
                json={},
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                auth=self._signer,
            )
        except _UNREACHABLE as error:
            _log.warning("Tokenpass could not be reached to end a token at logout: %s", error)
            return False
        if response.status_code != 200:
            _log.warning(
                "Tokenpass did not end a token at logout: it answered %s", response.status_code
            )
            return False
        return True

    @staticmethod
    async def _guarded(call: Awaitable[Any]) -> Any:
        """Await an authlib call, turning its failures into ``LoginError``s."""
        try:
            return await call
        except OAuthError as error:
            raise _refusal(error) from error
        except _UNREACHABLE as error:
            raise LoginError(
                "provider_unreachable",
                "Tokenpass could not be reached to finish the login; try again later.",
                503,
            ) from error
        except _GARBLED as error:
            raise _garbled() from error


def _refusal(error: Any) -> LoginError:
    """A ``LoginError`` for an OAuth error from the callback, authlib or the token endpoint."""
    code = str(error.error)
    said = f" (Tokenpass said: {error.description})" if error.description else ""
    if code == "access_denied":
        return LoginError(code, "You did not allow this site to use your Tokenpass account.", 403)
    if code == "mismatching_state":
        return state_mismatch()
    if code == "invalid_grant":
        return LoginError(
            code, f"The login code has expired or was already used; start again.{said}", 400
        )
    if code in _PROVIDER_DOWN:
        return LoginError(code, f"Tokenpass could not finish the login, try later.{said}", 503)
    return LoginError(code, f"Tokenpass refused the login: {code}.{said}", 400)


def state_mismatch() -> LoginError:
    """The refusal of a callback whose ``state`` is not one this browser's logins sent."""
    return LoginError(
        "invalid_state",
        "This login does not match one started in this browser (its state is missing "
        "or wrong); start again.",
        400,
    )


def _garbled() -> LoginError:
    return LoginError(
        "provider_failed",
        "Tokenpass answered with an error or something unreadable; try again later.",
        503,
    )
