"""The login as the session cookie names it, and the readers apps and the gate use.

``request.session[SESSION_KEY]`` holds, once a login succeeded, only::

    {"sid": str}                     # a random session id (the in-memory store), or
    {"sid": str, "kept": "shared"}   # one whose login is kept in a shared store (Redis)

The user, the OAuth token, the granted scopes and the expiry stay server side in a
``LoginStore`` (``_store``), keyed by the id's digest: the signed cookie carries
nothing usable, and a copy of it is worth nothing once the login ended.

The readers here are synchronous and read the in-memory store; a login kept in Redis
is read with ``TokenpassLogin``'s awaited readers (``await login.current_user(request)``,
``login.identity()`` for the gate).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request

from tca_gate.errors import LoginConfigError

from ._store import DEFAULT_MAX_AGE, LoginRecord, MemoryLoginStore, new_session_id
from ._user import TokenpassUser

#: The session key of the login; its value has the shape in this module's docstring.
SESSION_KEY = "tca_gate.login"
#: The session key of the page to return to once the login in progress finishes.
NEXT_KEY = "tca_gate.login.next"
#: The session key of the states of the logins in progress (the latest few).
STATE_KEY = "tca_gate.login.state"
#: Where a login whose cookie says ``"kept": "shared"`` is.
SHARED = "shared"

#: The logins of every ``TokenpassLogin`` of this process that keeps them in memory.
MEMORY = MemoryLoginStore()


def session_of(request: HTTPConnection) -> dict[str, Any]:
    """The request's session; a clear error when ``SessionMiddleware`` is missing."""
    if "session" not in request.scope:
        raise LoginConfigError(
            "Tokenpass login keeps the login in the session: add "
            "starlette.middleware.sessions.SessionMiddleware to the app"
        )
    return request.session


def session_id(session: Mapping[str, Any]) -> tuple[str, bool] | None:
    """The session's login id and whether it is kept in a shared store; ``None``: none."""
    login = session.get(SESSION_KEY)
    if not isinstance(login, Mapping):
        return None
    sid = login.get("sid")
    if not isinstance(sid, str) or not sid:
        return None
    return sid, login.get("kept") == SHARED


def name_login(session: dict[str, Any], sid: str, *, shared: bool) -> None:
    """Make ``sid`` the session's login (the record itself is in the store)."""
    session[SESSION_KEY] = {"sid": sid, "kept": SHARED} if shared else {"sid": sid}


def store_login(
    session: dict[str, Any],
    user: TokenpassUser,
    access_token: str,
    scope: str,
    expires_at: float | None,
) -> None:
    """Record a finished login in the in-memory store and name it in ``session`` (what
    the callback does; for custom callbacks and tests)."""
    if expires_at is None:
        expires_at = time.time() + DEFAULT_MAX_AGE
    sid = new_session_id()
    MEMORY.put(sid, LoginRecord(user, access_token, scope, expires_at))
    name_login(session, sid, shared=False)


def clear_login(session: dict[str, Any]) -> None:
    """Forget the session's login and any login in progress (not the stored record)."""
    session.pop(SESSION_KEY, None)
    session.pop(NEXT_KEY, None)
    session.pop(STATE_KEY, None)


def memory_record(conn: HTTPConnection) -> LoginRecord | None:
    """The active login of the request, from the in-memory store, without awaiting.

    A login kept in a shared store cannot be read this way: ``LoginConfigError`` says
    what to use instead.
    """
    found = session_id(session_of(conn))
    if found is None:
        return None
    sid, shared = found
    if shared:
        raise LoginConfigError(
            "this app keeps logins in a shared store (RedisLoginStore): read them with "
            "TokenpassLogin's awaited readers (await login.current_user(request), "
            "await login.access_token(request)) and give the Gate identity=login.identity()"
        )
    return MEMORY.peek(sid)


def session_login(conn: HTTPConnection) -> tuple[TokenpassUser, str] | None:
    """The request's user and token, unless there is no active login (fail closed)."""
    record = memory_record(conn)
    return None if record is None else (record.user, record.access_token)


def current_user(request: Request) -> TokenpassUser | None:
    """The logged-in Tokenpass user, or ``None`` (no login, or its token has expired)."""
    login = session_login(request)
    return None if login is None else login[0]


def access_token(request: Request) -> str | None:
    """The logged-in user's Tokenpass OAuth token, for calls made on their behalf from
    the server; ``None`` when there is no active login. Never send it to the page."""
    login = session_login(request)
    return None if login is None else login[1]


async def require_user(request: Request) -> TokenpassUser:
    """The logged-in user, or a 401 ``HTTPException``: a FastAPI dependency (``Depends``)."""
    user = current_user(request)
    if user is None:
        raise HTTPException(status_code=401, detail="Log in with Tokenpass first.")
    return user
