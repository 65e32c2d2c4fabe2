"""Tokenpass's OAuth 2.0 calls: the authorize URL, the code exchange and the token's user."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

import httpx2

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import Call, done, text, whole
from tca_gate.tokenpass import _read as read

from ._app import TokenpassApp
from ._models import OAuthToken, OAuthUser
from ._user_token import UserCall, user_token

#: Every scope Tokenpass grants.
SCOPES = (
    "user",
    "tca",
    "private-balances",
    "private-address",
    "manage-address",
    "manage-chats",
)


def authorization_url(
    base_url: httpx2.URL, app: TokenpassApp, redirect_uri: str, scopes: Iterable[str], state: str
) -> str:
    """Where to send the user to log in and grant ``scopes`` (joined with commas)."""
    names = [scopes] if isinstance(scopes, str) else list(scopes)
    for name in names:
        text("scopes", name)
    if not names:
        raise InvalidArgumentError("scopes must name at least one scope, e.g. ['user', 'tca']")
    query = urlencode(
        {
            "client_id": app.client_id,
            "redirect_uri": text("redirect_uri", redirect_uri),
            "scope": ",".join(names),
            "response_type": "code",
            "state": text("state", state),
        }
    )
    return f"{str(base_url).rstrip('/')}/oauth/authorize?{query}"


def get_oauth_access_token(app: TokenpassApp, code: str, redirect_uri: str) -> Call[OAuthToken]:
    """Exchange an authorization ``code`` for the user's access token (client_secret_post)."""
    return Call(
        "POST",
        "/oauth/access-token",
        whole(read.oauth_token),
        form={
            "grant_type": "authorization_code",
            "code": text("code", code),
            "redirect_uri": text("redirect_uri", redirect_uri),
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
        signed=False,
    )


def get_oauth_user(app: TokenpassApp, access_token: str) -> Call[OAuthUser]:
    """The user an access token belongs to (scope ``user``)."""
    return UserCall(
        "GET",
        "/oauth/user",
        whole(read.oauth_user),
        signed=False,
        token=user_token("access_token", access_token),
        name="access_token",
    )


def logout(app: TokenpassApp, oauth_token: str) -> Call[None]:
    """End the user's token: every later call with it is refused."""
    return UserCall(
        "POST",
        "/api/v1/oauth/logout",
        done,
        json={},
        token=user_token("oauth_token", oauth_token),
    )
