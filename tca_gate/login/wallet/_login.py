"""``WalletLogin``: sign in by proving a Bitcoin address with a signed one-time challenge."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tca_gate.balances import Holder, IdentityResolver
from tca_gate.errors import LoginConfigError, LoginError
from tca_gate.login import (
    DEFAULT_MAX_AGE,
    check_csrf,
    csrf_token,
    new_session_id,
    renew_csrf_token,
    safe_next,
    session_of,
)
from tca_gate.signing.replay import AsyncReplayStore, MemoryReplayStore, ReplayStore
from tca_gate.wire.negotiation import wants_html
from tca_gate.wire.urls import is_loopback

from . import _pages
from ._challenge import DEFAULT_CHALLENGE_TTL, WalletChallenge, issue, redeem
from ._store import WALLET_KEY, MemoryWalletStore, WalletRecord, WalletStore, session_sid

#: The largest sign-in form read (bytes): an address and a signature are a few hundred.
MAX_FORM = 16 * 1024
_NO_STORE = {"Cache-Control": "no-store"}
_log = logging.getLogger("tca_gate.login")


class WalletLogin:
    """Sign in with a Bitcoin wallet, no Tokenpass needed: the user signs a one-time
    challenge and the app keeps the address proven.

    ``routes`` serves ``/challenge`` (a new challenge: a page with the form, or JSON
    ``{"message", "expires_at", "csrf_token"}``), ``/verify`` (a POST of ``address``,
    ``signature`` and ``next``, form or JSON, carrying the CSRF token) and ``/logout``;
    mount them anywhere, e.g. ``Mount("/wallet", routes=wallet.routes)``. The app needs
    Starlette's ``SessionMiddleware``.

    A challenge names ``origin`` (by default the scheme and host of the request; set it
    behind a proxy, or to pin the site), is kept in the session it was shown to, lasts
    ``challenge_ttl`` seconds and signs in once: used challenges are claimed in
    ``replay_store`` (this process's memory by default; a ``RedisReplayStore`` for
    several workers). Signatures are Bitcoin signed messages (Bitcoin Core, Electrum,
    BIP-137) by a P2PKH address. A refusal answers 4xx with a code saying why (JSON
    ``{"error", "error_description"}`` or a page, by ``Accept``). The sign-in lasts
    ``max_age`` seconds, kept server side behind a random id in the session, in
    ``store`` (this process's memory by default; ``RedisWalletStore`` for several
    workers). No signature is ever logged or stored.

    ``identity()`` gives the gate ``Holder.addresses([address])``; ``clock`` (unix
    seconds) is for tests.

    >>> wallet = WalletLogin(origin="https://shop.example")
    >>> [route.path for route in wallet.routes]
    ['/challenge', '/verify', '/logout']
    """

    def __init__(
        self,
        *,
        origin: str | None = None,
        challenge_ttl: float = DEFAULT_CHALLENGE_TTL,
        max_age: float = DEFAULT_MAX_AGE,
        default_next: str = "/",
        replay_store: ReplayStore | AsyncReplayStore | None = None,
        store: WalletStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.origin = None if origin is None else _checked_origin(origin)
        for name, value in (("challenge_ttl", challenge_ttl), ("max_age", max_age)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise LoginConfigError(
                    f"{name} must be a positive number of seconds, not {value!r}"
                )
        try:
            self._default_next = safe_next(default_next)
        except LoginError as error:
            raise LoginConfigError(f"default_next: {error.description}") from None
        if replay_store is not None and not callable(getattr(replay_store, "claim", None)):
            raise LoginConfigError(
                f"replay_store must be a ReplayStore, not {type(replay_store).__name__}"
            )
        if store is not None and not all(
            callable(getattr(store, name, None)) for name in ("save", "load", "delete")
        ):
            raise LoginConfigError(
                f"store must be a WalletStore such as RedisWalletStore, not {type(store).__name__}"
            )
        self.challenge_ttl = float(challenge_ttl)
        self._max_age = float(max_age)
        self._clock = clock
        if replay_store is None:
            # a used challenge is remembered for as long as it could still be signed
            replay_store = MemoryReplayStore(ttl=self.challenge_ttl + 60.0)
        self._replay = replay_store
        self._memory: MemoryWalletStore | None = None
        if store is None:
            store = self._memory = MemoryWalletStore(clock)
        self.store: WalletStore = store
        self.routes = [
            Route("/challenge", self._challenge, methods=["GET"], name="wallet_challenge"),
            Route("/verify", self._verify, methods=["POST"], name="wallet_verify"),
            Route("/logout", self._logout, methods=["GET", "POST"], name="wallet_logout"),
        ]

    def site(self, conn: HTTPConnection) -> str:
        """The origin challenges name: the configured one; without one, the request's,
        but only on a loopback host (development and tests).

        A request's ``Host`` is the client's to choose: a site taking its origin from it
        would let another site ask for a challenge naming itself, have its visitor sign
        it, and relay the signature. So a site served to anyone must say its origin; one
        that does not answers such requests 500 ``origin_not_set``, naming the fix.
        """
        if self.origin is not None:
            return self.origin
        if not is_loopback(conn.url.hostname or ""):
            fix = "set WalletLogin(origin='https://your.site'), the origin users sign for"
            _log.error("wallet sign-in refused: no origin is set and the host is not loopback")
            raise LoginError(
                "origin_not_set",
                f"This site's wallet sign-in has no origin set for a public host: {fix}.",
                500,
            )
        return f"{conn.url.scheme}://{conn.url.netloc}"

    def challenge(self, conn: HTTPConnection) -> WalletChallenge:
        """A new challenge for this session (any earlier one is dropped): show its
        ``message`` to the user to sign."""
        return issue(session_of(conn), self.site(conn), self.challenge_ttl, self._clock())

    async def sign_in(self, request: Request, address: object, signature: object) -> str:
        """Check ``signature`` of the session's challenge by ``address``; on success the
        session is signed in as that address (returned), else a ``LoginError`` says why.
        The caller checks CSRF (the ``verify`` route does)."""
        session = session_of(request)
        try:
            proven = await redeem(
                session,
                self.site(request),
                address,
                signature,
                replay=self._replay,
                now=self._clock(),
            )
        except LoginError as error:
            _log.info("wallet sign-in refused: %s", error.code)
            raise
        await self._end(session)
        sid = new_session_id()
        await self.store.save(sid, WalletRecord(proven, self._clock() + self._max_age))
        session[WALLET_KEY] = {"sid": sid}
        renew_csrf_token(request)
        _log.info("wallet sign-in: %s", proven)
        return proven

    async def address(self, conn: HTTPConnection) -> str | None:
        """The address the session is signed in with, or ``None``."""
        sid = session_sid(session_of(conn))
        record = None if sid is None else await self.store.load(sid)
        return None if record is None else record.address

    async def require_address(self, request: Request) -> str:
        """The signed-in address, or a 401 ``HTTPException``: a FastAPI dependency."""
        address = await self.address(request)
        if address is None:
            raise HTTPException(status_code=401, detail="Sign in with your wallet first.")
        return address

    def identity(self) -> IdentityResolver:
        """The gate's identity resolver (``Gate(..., identity=...)``): the signed-in
        address, as ``Holder.addresses([address])``; nobody without a sign-in. With the
        in-memory store it answers at once; with a shared store it is awaited."""
        memory = self._memory
        if memory is not None:

            def from_memory(conn: HTTPConnection) -> Holder | None:
                sid = session_sid(session_of(conn))
                record = None if sid is None else memory.get(sid)
                return None if record is None else Holder.addresses([record.address])

            from_memory.__qualname__ = "WalletLogin.identity()"
            return from_memory

        async def from_store(conn: HTTPConnection) -> Holder | None:
            address = await self.address(conn)
            return None if address is None else Holder.addresses([address])

        from_store.__qualname__ = "WalletLogin.identity()"
        return from_store

    async def sign_out(self, conn: HTTPConnection) -> None:
        """End the session's wallet sign-in: its record deleted, its CSRF token renewed."""
        await self._end(session_of(conn))
        renew_csrf_token(conn)

    async def _end(self, session: dict[str, Any]) -> None:
        # the record goes first: if the store fails, the session keeps its id (a 503,
        # and the user can sign out again) rather than leave a record a copied cookie opens
        sid = session_sid(session)
        if sid is not None:
            await self.store.delete(sid)
        session.pop(WALLET_KEY, None)

    async def _challenge(self, request: Request) -> Response:
        try:
            next_url = safe_next(request.query_params.get("next", self._default_next))
            challenge = self.challenge(request)
        except LoginError as error:
            return _refusal(request, error)
        token = csrf_token(request)
        if wants_html(request.headers.get("accept", "")):
            page = _pages.challenge_page(challenge.message, token, next_url)
            return HTMLResponse(page, headers=_NO_STORE)
        body = {
            "message": challenge.message,
            "expires_at": challenge.expires_at,
            "csrf_token": token,
        }
        return JSONResponse(body, headers=_NO_STORE)

    async def _verify(self, request: Request) -> Response:
        try:
            fields = await _fields(request)
            await check_csrf(request)
            next_url = self._next(fields.get("next"))
            address = await self.sign_in(request, fields.get("address"), fields.get("signature"))
        except LoginError as error:
            return _refusal(request, error)
        if wants_html(request.headers.get("accept", "")):
            return RedirectResponse(next_url, status_code=303, headers=_NO_STORE)
        return JSONResponse({"address": address}, headers=_NO_STORE)

    async def _logout(self, request: Request) -> Response:
        try:
            next_url = safe_next(request.query_params.get("next", self._default_next))
            if request.method != "POST":
                page = _pages.logout_page(csrf_token(request))
                return HTMLResponse(page, headers=_NO_STORE)
            await check_csrf(request)
            await self.sign_out(request)
        except LoginError as error:
            return _refusal(request, error)
        return RedirectResponse(next_url, status_code=303, headers=_NO_STORE)

    def _next(self, value: object) -> str:
        if value is None or value == "":
            return self._default_next
        if not isinstance(value, str):
            raise LoginError("invalid_next", "'next' must be a path on this site.", 400)
        return safe_next(value)


async def _fields(request: Request) -> Mapping[str, object]:
    """The sign-in form: urlencoded or a JSON object, at most ``MAX_FORM`` bytes."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_FORM:
        raise LoginError(
            "invalid_form", f"Send the sign-in form with a length of at most {MAX_FORM} bytes.", 400
        )
    body = await request.body()
    if kind == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(body.decode("utf-8"), max_num_fields=20))
        except (UnicodeDecodeError, ValueError):
            raise LoginError("invalid_form", "The sign-in form cannot be read.", 400) from None
    if kind == "application/json":
        try:
            data: Any = json.loads(body)
        except (ValueError, RecursionError):
            raise LoginError("invalid_form", "The sign-in body is not JSON.", 400) from None
        if isinstance(data, dict):
            return data
        raise LoginError("invalid_form", "The sign-in body must be a JSON object.", 400)
    raise LoginError(
        "invalid_form", "Send the sign-in as a form or as JSON (address, signature).", 415
    )


def _refusal(request: Request, error: LoginError) -> Response:
    """``error`` as ``{"error", "error_description"}`` JSON or as a page, by ``Accept``."""
    if wants_html(request.headers.get("accept", "")):
        page = _pages.refusal_page(error.code, error.description)
        return HTMLResponse(page, status_code=error.status, headers=_NO_STORE)
    body = {"error": error.code, "error_description": error.description}
    return JSONResponse(body, status_code=error.status, headers=_NO_STORE)


def _checked_origin(origin: object) -> str:
    parts = urlsplit(origin) if isinstance(origin, str) else None
    if (
        parts is None
        or parts.scheme not in {"http", "https"}
        or not parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise LoginConfigError(
            f"origin must be a site's scheme and host, such as 'https://shop.example', not "
            f"{origin!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"
