"""``TokenpassLogin``: the login, callback and logout routes of "Log in with Tokenpass"."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Iterable
from html import escape
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tca_gate.balances import Holder, IdentityResolver
from tca_gate.errors import LoginConfigError, LoginError

from ._csrf import CSRF_FIELD, check_csrf, csrf_token, renew_csrf_token
from ._next import safe_next
from ._provider import TokenpassProvider, state_mismatch
from ._responses import error_response
from ._session import (
    MEMORY,
    NEXT_KEY,
    SESSION_KEY,
    STATE_KEY,
    clear_login,
    name_login,
    session_id,
    session_of,
)
from ._store import DEFAULT_MAX_AGE, LoginRecord, LoginStore, MemoryLoginStore, new_session_id
from ._user import TokenpassUser

_SCOPE = re.compile(r"[A-Za-z0-9._-]+")
_NO_STORE = {"Cache-Control": "no-store"}
#: The scopes asked for by default: who the user is, and every balance Tokenpass's own
#: ``tca/check`` counts (private addresses included).
DEFAULT_SCOPES = ("user", "tca", "private-balances")
#: How many logins in progress (browser tabs) one session may have at once.
_PENDING_STATES = 5
#: What each balance scope of the gate needs the login to have been granted.
_NEEDED = {"public": ("tca",), "protected": ("tca", "private-balances")}
_LOGOUT_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Log out</title></head>
<body>
<form method="post" action="">
<input type="hidden" name="{field}" value="{token}">
<button type="submit">Log out</button>
</form>
</body>
</html>
"""


class TokenpassLogin:
    """Log in with Tokenpass (OAuth 2 authorization code) in a Starlette or FastAPI app.

    ``routes`` serves ``/login`` (``?next=/path`` says where to return), ``/callback``
    and ``/logout``; mount them anywhere, e.g. ``Mount("/auth", routes=login.routes)``.
    The app needs Starlette's ``SessionMiddleware``. The session cookie names the login
    by a random id only: the user, their token and scopes are kept server side in
    ``store`` (this process's memory by default; ``RedisLoginStore`` for several
    workers) for at most ``max_age`` seconds. A failed login answers with a page or JSON
    error (4xx when refused, 503 when Tokenpass is down); a callback whose ``state`` is
    not one this browser started is refused before anything else happens.

    Logging out is a ``POST`` to ``/logout`` carrying the session's CSRF token
    (``csrf_token(request)`` in the ``csrf_token`` field or ``X-CSRF-Token`` header;
    ``GET`` shows a page with that form): it deletes the login and has Tokenpass end the
    token, so a copy of the old cookie logs nobody in.

    ``scopes`` default to what the gate needs to decide as Tokenpass's ``tca/check``
    does (``user``, ``tca``, ``private-balances``). ``redirect_uri`` is the callback URL
    registered with Tokenpass; by default it is worked out from the login request (set
    it when behind a proxy). With ``require_confirmed_email`` users whose email Tokenpass
    has not confirmed are refused.

    >>> login = TokenpassLogin("https://tokenpass.example", "my-client-id", "my-secret")
    >>> [route.path for route in login.routes]
    ['/login', '/callback', '/logout']
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        redirect_uri: str | None = None,
        require_confirmed_email: bool = False,
        default_next: str = "/",
        timeout: float = 10.0,
        pkce: bool = True,
        store: LoginStore | None = None,
        max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        _check_url("base_url", base_url)
        if redirect_uri is not None:
            _check_url("redirect_uri", redirect_uri)
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if not isinstance(value, str) or not value:
                raise LoginConfigError(f"{name} must be a non-empty string")
        scope_list = _check_scopes(scopes)
        try:
            self._default_next = safe_next(default_next)
        except LoginError as error:
            raise LoginConfigError(f"default_next: {error.description}") from None
        if not timeout > 0:
            raise LoginConfigError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if not max_age > 0:
            raise LoginConfigError(f"max_age must be a positive number of seconds, not {max_age!r}")
        if isinstance(store, MemoryLoginStore):
            raise LoginConfigError(
                "leave store=None to keep logins in memory (the gate reads that store); "
                "pass a RedisLoginStore to share them between workers"
            )
        if store is not None and not all(
            callable(getattr(store, name, None)) for name in ("save", "load", "delete")
        ):
            raise LoginConfigError(
                f"store must be a LoginStore such as RedisLoginStore, not {type(store).__name__}"
            )
        self.scopes = tuple(scope_list)
        self.store: LoginStore = MEMORY if store is None else store
        self._shared = store is not None
        self._max_age = float(max_age)
        self._redirect_uri = redirect_uri
        self._require_confirmed_email = require_confirmed_email
        self._provider = TokenpassProvider(
            base_url.rstrip("/"), client_id, client_secret, scope_list, timeout=timeout, pkce=pkce
        )
        self.routes = [
            Route("/login", self._login, methods=["GET"], name="tokenpass_login"),
            Route("/callback", self._callback, methods=["GET"], name="tokenpass_callback"),
            Route("/logout", self._logout, methods=["GET", "POST"], name="tokenpass_logout"),
        ]

    def redirect_uri(self, request: Request) -> str:
        """The callback URL sent to Tokenpass: the configured one, or ``callback`` beside
        the login route that ``request`` reached."""
        if self._redirect_uri is not None:
            return self._redirect_uri
        path = request.url.path.removesuffix("login") + "callback"
        return str(request.url.replace(path=path, query="", fragment=""))

    def identity(self, scope: Literal["public", "protected"] = "protected") -> IdentityResolver:
        """The gate's identity resolver for this login (``Gate(..., identity=...)``): the
        logged-in user by their token, reading ``scope`` balances (``protected``, the
        default, counts private addresses as ``tca/check`` does).

        A ``LoginConfigError`` names the scope to add when the login does not ask for
        what ``scope`` needs. With the in-memory store the resolver answers at once;
        with a shared store it is awaited.
        """
        if scope not in _NEEDED:
            raise LoginConfigError(f"scope must be 'public' or 'protected', not {scope!r}")
        missing = [name for name in _NEEDED[scope] if name not in self.scopes]
        if missing:
            raise LoginConfigError(
                f"the gate reads {scope} balances with the user's token, which needs the "
                f"{' and '.join(repr(name) for name in missing)} scope: add it to "
                f"TokenpassLogin(scopes=...)"
            )

        def holder(record: LoginRecord | None) -> Holder | None:
            if record is None:
                return None
            return Holder.token(record.access_token, scope, owner=record.user.username)

        if not self._shared:

            def from_memory(conn: HTTPConnection) -> Holder | None:
                found = session_id(session_of(conn))
                return None if found is None else holder(MEMORY.peek(found[0]))

            from_memory.__qualname__ = f"TokenpassLogin.identity({scope!r})"
            return from_memory

        async def from_store(conn: HTTPConnection) -> Holder | None:
            return holder(await self.record(conn))

        from_store.__qualname__ = f"TokenpassLogin.identity({scope!r})"
        return from_store

    async def record(self, conn: HTTPConnection) -> LoginRecord | None:
        """The request's active login, from the store; ``None`` when there is none."""
        found = session_id(session_of(conn))
        if found is None or found[1] != self._shared:
            return None
        return await self.store.load(found[0])

    async def current_user(self, conn: HTTPConnection) -> TokenpassUser | None:
        """The logged-in Tokenpass user, or ``None`` (whichever store keeps logins)."""
        record = await self.record(conn)
        return None if record is None else record.user

    async def access_token(self, conn: HTTPConnection) -> str | None:
        """The logged-in user's OAuth token, for calls made on their behalf from the
        server; ``None`` without an active login. Never send it to the page."""
        record = await self.record(conn)
        return None if record is None else record.access_token

    async def require_user(self, request: Request) -> TokenpassUser:
        """The logged-in user, or a 401 ``HTTPException``: a FastAPI dependency."""
        user = await self.current_user(request)
        if user is None:
            raise HTTPException(status_code=401, detail="Log in with Tokenpass first.")
        return user

    async def _login(self, request: Request) -> Response:
        session = session_of(request)
        try:
            next_url = safe_next(request.query_params.get("next", self._default_next))
        except LoginError as error:
            return error_response(request, error)
        response = await self._provider.authorize_redirect(request, self.redirect_uri(request))
        state = dict(parse_qsl(urlsplit(response.headers["location"]).query)).get("state")
        pending = [s for s in session.get(STATE_KEY, ()) if isinstance(s, str)]
        session[STATE_KEY] = [*pending, state][-_PENDING_STATES:]
        session[NEXT_KEY] = next_url
        return response

    async def _callback(self, request: Request) -> Response:
        session = session_of(request)
        state = request.query_params.get("state", "")
        pending = [s for s in session.get(STATE_KEY, ()) if isinstance(s, str)]
        if not state or not any(hmac.compare_digest(s.encode(), state.encode()) for s in pending):
            # Not a login this browser started: refuse, leaving the current login alone.
            return error_response(request, state_mismatch())
        session[STATE_KEY] = [s for s in pending if s != state]
        next_url = session.pop(NEXT_KEY, None)
        try:
            await self._end_login(request)
            grant = await self._provider.finish(request)
            if self._require_confirmed_email and not grant.user.email_is_confirmed:
                await self._provider.revoke(grant.access_token)
                raise LoginError(
                    "email_unconfirmed",
                    "Your Tokenpass email address is not confirmed yet: confirm it, then log in "
                    "again.",
                    403,
                )
            expires_at = time.time() + self._max_age
            if grant.expires_at is not None:
                expires_at = min(expires_at, grant.expires_at)
            record = LoginRecord(grant.user, grant.access_token, grant.scope, expires_at)
            sid = new_session_id()
            await self.store.save(sid, record)
        except LoginError as error:
            return error_response(request, error)
        name_login(session, sid, shared=self._shared)
        renew_csrf_token(request)
        return RedirectResponse(self._stored_next(next_url), status_code=303, headers=_NO_STORE)

    async def _logout(self, request: Request) -> Response:
        try:
            next_url = safe_next(request.query_params.get("next", self._default_next))
            if request.method != "POST":
                # the form posts back to this URL, ``next`` included
                page = _LOGOUT_PAGE.format(field=CSRF_FIELD, token=escape(csrf_token(request)))
                return HTMLResponse(page, headers=_NO_STORE)
            await check_csrf(request)
            await self._end_login(request)
        except LoginError as error:
            return error_response(request, error)
        clear_login(session_of(request))
        renew_csrf_token(request)
        return RedirectResponse(next_url, status_code=303, headers=_NO_STORE)

    async def _end_login(self, request: Request) -> None:
        """Forget the session's login: its record deleted, its token ended at Tokenpass."""
        session = session_of(request)
        found = session_id(session)
        if found is None:
            session.pop(SESSION_KEY, None)
            return
        store = self.store if found[1] == self._shared else None
        # the record goes first: if the store fails, the session keeps its id (a 503, and
        # the user can log out again) rather than leave a record a copied cookie still opens
        record = None if store is None else await store.delete(found[0])
        session.pop(SESSION_KEY, None)
        if record is not None:
            await self._provider.revoke(record.access_token)

    def _stored_next(self, value: object) -> str:
        """The page saved when the login began, checked again; the default if none is usable."""
        try:
            return safe_next(value) if isinstance(value, str) else self._default_next
        except LoginError:
            return self._default_next


def _check_url(name: str, url: object) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.netloc:
        raise LoginConfigError(f"{name} must be an absolute http(s) URL, not {url!r}")
    if parts.query or parts.fragment:
        raise LoginConfigError(f"{name} must not carry a query or fragment: {url!r}")


def _check_scopes(scopes: Iterable[str]) -> list[str]:
    if isinstance(scopes, str):
        raise LoginConfigError(f"scopes must be a list of scope names, not the string {scopes!r}")
    scope_list = list(scopes)
    bad = [name for name in scope_list if not isinstance(name, str) or not _SCOPE.fullmatch(name)]
    if not scope_list or bad:
        raise LoginConfigError(
            f"scopes must be one or more names such as 'user' or 'tca'; bad: {bad or scope_list!r}"
        )
    if "user" not in scope_list:
        raise LoginConfigError(
            "scopes must include 'user': the login reads who logged in from Tokenpass's "
            "/oauth/user, which needs it"
        )
    return scope_list
