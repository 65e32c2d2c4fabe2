"""The login as kept in the signed session cookie, and the readers apps and the gate use.

``request.session[SESSION_KEY]`` holds, once a login succeeded::

    {"user": {"id": str, "username": str, "email": str | None, "name": str | None,
              "email_is_confirmed": bool},
     "access_token": str,       # the Tokenpass OAuth token, for calls that need oauth_token
     "scope": str,              # the scopes Tokenpass granted, comma-joined
     "expires_at": int | None}  # unix seconds; after it the login no longer counts

Nothing else of the login is kept there (never the client secret).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request

from ._errors import LoginConfigError
from ._user import TokenpassUser

#: The session key of the login; its value has the shape in this module's docstring.
SESSION_KEY = "tca_gate.login"
#: The session key of the page to return to once the login in progress finishes.
NEXT_KEY = "tca_gate.login.next"


def session_of(request: HTTPConnection) -> dict[str, Any]:
    """The request's session; a clear error when ``SessionMiddleware`` is missing."""
    if "session" not in request.scope:
        raise LoginConfigError(
            "Tokenpass login keeps the login in the session: add "
            "starlette.middleware.sessions.SessionMiddleware to the app"
        )
    return request.session


def store_login(
    session: dict[str, Any],
    user: TokenpassUser,
    access_token: str,
    scope: str,
    expires_at: int | None,
) -> None:
    """Record a finished login in the session."""
    session[SESSION_KEY] = {
        "user": user.to_json(),
        "access_token": access_token,
        "scope": scope,
        "expires_at": expires_at,
    }


def clear_login(session: dict[str, Any]) -> None:
    """Forget the login and any login in progress."""
    session.pop(SESSION_KEY, None)
    session.pop(NEXT_KEY, None)


def current_user(request: Request) -> TokenpassUser | None:
    """The logged-in Tokenpass user, or ``None`` (no login, or its token has expired)."""
    login = session_login(request)
    return None if login is None else login[0]


def access_token(request: Request) -> str | None:
    """The logged-in user's Tokenpass OAuth token, or ``None`` when there is no active login."""
    login = session_login(request)
    return None if login is None else login[1]


async def require_user(request: Request) -> TokenpassUser:
    """The logged-in user, or a 401 ``HTTPException``: a FastAPI dependency (``Depends``)."""
    user = current_user(request)
    if user is None:
        raise HTTPException(status_code=401, detail="Log in with Tokenpass first.")
    return user


def session_login(request: HTTPConnection) -> tuple[TokenpassUser, str] | None:
    """The session's user and token, unless missing, malformed or expired (fail closed)."""
    login = session_of(request).get(SESSION_KEY)
    if not isinstance(login, Mapping):
        return None
    token = login.get("access_token")
    expires_at = login.get("expires_at")
    if not isinstance(token, str) or not token:
        return None
    if expires_at is not None and (
        not isinstance(expires_at, int) or isinstance(expires_at, bool) or expires_at <= time.time()
    ):
        return None
    try:
        return TokenpassUser.from_json(login.get("user")), token
    except ValueError:
        return None
