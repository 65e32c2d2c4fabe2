"""``TokenpassLogin``: the login, callback and logout routes of "Log in with Tokenpass"."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ._errors import LoginConfigError, LoginError
from ._next import safe_next
from ._provider import TokenpassProvider
from ._responses import error_response
from ._session import NEXT_KEY, clear_login, session_of, store_login

_SCOPE = re.compile(r"[A-Za-z0-9._-]+")
_NO_STORE = {"Cache-Control": "no-store"}


class TokenpassLogin:
    """Log in with Tokenpass (OAuth 2 authorization code) in a Starlette or FastAPI app.

    ``routes`` serves ``/login`` (``?next=/path`` says where to return), ``/callback``
    and ``/logout``; mount them anywhere, e.g. ``Mount("/auth", routes=login.routes)``.
    The app needs Starlette's ``SessionMiddleware``. A finished login is kept in the
    session (see ``SESSION_KEY``); a failed one answers with a page or JSON error (4xx
    when refused, 503 when Tokenpass is down) and leaves no login behind.

    ``redirect_uri`` is the callback URL registered with Tokenpass; by default it is
    worked out from the login request (set it when behind a proxy). With
    ``require_confirmed_email`` users whose email Tokenpass has not confirmed are refused.

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
        scopes: Iterable[str] = ("user", "tca"),
        redirect_uri: str | None = None,
        require_confirmed_email: bool = False,
        default_next: str = "/",
        timeout: float = 10.0,
        pkce: bool = True,
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

    async def _login(self, request: Request) -> Response:
        session = session_of(request)
        try:
            next_url = safe_next(request.query_params.get("next", self._default_next))
        except LoginError as error:
            return error_response(request, error)
        response = await self._provider.authorize_redirect(request, self.redirect_uri(request))
        session[NEXT_KEY] = next_url
        return response

    async def _callback(self, request: Request) -> Response:
        session = session_of(request)
        next_url = session.get(NEXT_KEY)
        clear_login(session)
        try:
            grant = await self._provider.finish(request)
            if self._require_confirmed_email and not grant.user.email_is_confirmed:
                raise LoginError(
                    "email_unconfirmed",
                    "Your Tokenpass email address is not confirmed yet: confirm it, then log in "
                    "again.",
                    403,
                )
        except LoginError as error:
            return error_response(request, error)
        store_login(session, grant.user, grant.access_token, grant.scope, grant.expires_at)
        return RedirectResponse(self._stored_next(next_url), status_code=303, headers=_NO_STORE)

    async def _logout(self, request: Request) -> Response:
        clear_login(session_of(request))
        try:
            next_url = safe_next(request.query_params.get("next", self._default_next))
        except LoginError as error:
            return error_response(request, error)
        return RedirectResponse(next_url, status_code=303, headers=_NO_STORE)

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
    return scope_list
