"""Who is asking: identity resolvers turn a request into the ``Holder`` whose balances count.

A resolver is any callable taking the ``HTTPConnection`` and returning a ``Holder`` or
``None`` (no identity: 401), directly or as an awaitable. The built-ins read the
"Log in with Tokenpass" session, Starlette's ``request.user``, or a header set by an
authenticating proxy.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal
from weakref import WeakKeyDictionary

from starlette.requests import HTTPConnection

from tca_gate.balances import BALANCE_SCOPES, Holder, IdentityResolver, Scope
from tca_gate.errors import GateConfigError, InvalidArgumentError, LoginConfigError

#: What the built-in resolvers read from the ASGI scope (any one of), for the gate to
#: check the app's middleware order: ``session`` (SessionMiddleware), ``user``
#: (AuthenticationMiddleware).
_NEEDS: WeakKeyDictionary[Callable[..., object], tuple[str, ...]] = WeakKeyDictionary()

#: Where to put the middleware the built-in resolvers read from.
ORDER_HINT = (
    "list it before (outside) TcaGateMiddleware: middleware=[Middleware(SessionMiddleware, "
    "secret_key=...), Middleware(AuthenticationMiddleware, backend=...), "
    "Middleware(TcaGateMiddleware, ...)]"
)
NO_SESSION = (
    "the gate's identity is the Tokenpass login, kept in the session, but the request "
    "has no session: add SessionMiddleware and " + ORDER_HINT
)
NO_USER = (
    "the gate's identity is request.user, but the request has none: add "
    "AuthenticationMiddleware and " + ORDER_HINT
)
NO_SESSION_OR_USER = (
    "the gate's identity is the Tokenpass login (in the session) or request.user, but the "
    "request has neither: add SessionMiddleware (for the login) or AuthenticationMiddleware "
    "and " + ORDER_HINT + "; or pass Gate(identity=...)"
)
_MISSING: dict[tuple[str, ...], str] = {("session",): NO_SESSION, ("user",): NO_USER}
#: The login scope Tokenpass needs to give a token's private balances.
_PRIVATE = "private-balances"


def config_errors() -> tuple[type[Exception], ...]:
    """What a resolver raises when the app is set up wrong (not the request): the gate's
    ``GateConfigError`` and the login's ``LoginConfigError`` (no session).
    The gate lets these through as a 500 naming the fix, never a 401 to log in again."""
    return (GateConfigError, LoginConfigError)


def check_wiring(resolver: object, scope: Mapping[str, Any]) -> None:
    """Raise ``GateConfigError`` when a built-in ``resolver`` found nobody because the
    request lacks everything it reads (a session, ``request.user``): the app is set up
    wrong, and a 401 would send browsers round the login for ever."""
    needs = identity_needs(resolver)
    if needs and not any(need in scope for need in needs):
        raise GateConfigError(_MISSING.get(needs, NO_SESSION_OR_USER))


def identity_needs(resolver: object) -> tuple[str, ...]:
    """What a built-in resolver reads from the scope (any one of): ``session``, ``user``;
    nothing for the app's own resolvers."""
    if not callable(resolver):
        return ()
    try:
        return _NEEDS.get(resolver, ())
    except TypeError:  # not weakly referable: not one of ours
        return ()


def login_identity(scope: Scope = "public") -> IdentityResolver:
    """The user logged in with Tokenpass (``tca_gate.login``), by their OAuth token.

    ``public`` counts their public balances (the login needs the ``tca`` scope),
    ``protected`` every verified address (``private-balances``): a login granted less
    raises ``GateConfigError`` naming the scope to add, never a silently smaller answer.
    The holder carries the username as ``owner``, so a webhook naming the user forgets
    their balances. Needs the ``login`` extra and ``SessionMiddleware`` listed before
    ``TcaGateMiddleware``: a request without a session has no identity, and the gate then
    raises ``GateConfigError`` (a 500 naming the fix, not a 401 sending browsers round
    the login).
    """
    _check_scope(scope)
    from tca_gate.login import memory_record  # noqa: PLC0415 (the login extra)

    def from_login(conn: HTTPConnection) -> Holder | None:
        if "session" not in conn.scope:  # the gate names the fix (check_wiring)
            return None
        record = memory_record(conn)
        if record is None:
            return None
        if scope == "protected" and _PRIVATE not in _granted(record.scope):
            raise GateConfigError(
                "the gate reads the login's protected balances (private addresses "
                f"included), but Tokenpass did not grant the {_PRIVATE!r} scope: add "
                f"{_PRIVATE!r} to TokenpassLogin(scopes=...)"
            )
        return Holder.token(record.access_token, scope, owner=record.user.username)

    from_login.__qualname__ = f"login_identity({scope!r})"
    _NEEDS[from_login] = ("session",)
    return from_login


def auth_user_identity() -> IdentityResolver:
    """Starlette's ``request.user`` when authenticated (``AuthenticationMiddleware``),
    by username: its ``username`` attribute, else its ``display_name``.

    Tokenpass gives a user's balances by name from their public addresses only.
    Needs ``AuthenticationMiddleware`` (listed before ``TcaGateMiddleware``).
    """

    def from_auth_user(conn: HTTPConnection) -> Holder | None:
        user: Any = conn.scope.get("user")
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        name = getattr(user, "username", None) or getattr(user, "display_name", None)
        if not isinstance(name, str) or not name.strip():
            return None
        return Holder.user(name)

    from_auth_user.__qualname__ = "auth_user_identity()"
    _NEEDS[from_auth_user] = ("user",)
    return from_auth_user


def header_identity(
    header: str, *, kind: Literal["user", "token"] = "user", scope: Scope = "public"
) -> IdentityResolver:
    """The holder a request header names, for apps behind a proxy that authenticates
    users and passes the result on (``X-Auth-Request-User``, ``X-Forwarded-User``, ...):
    a username (``kind="user"``) or a Tokenpass OAuth token (``kind="token"``).

    Trust such a header only when the proxy sets it and clients cannot: strip it from
    incoming requests at the proxy. An empty or repeated header is no identity (401).
    A token named this way has no ``owner``: a webhook naming its user cannot reach
    its cached answer, which then lasts until the TTL (or ``invalidate``).

    >>> resolve = header_identity("X-Auth-Request-User")
    >>> resolve(HTTPConnection({"type": "http", "headers": [(b"x-auth-request-user", b"bob")]}))
    Holder.user('bob', scope='public')
    """
    _check_scope(scope)
    if kind not in ("user", "token"):
        raise InvalidArgumentError(f"kind must be 'user' or 'token', not {kind!r}")
    if not isinstance(header, str) or not header.strip():
        raise InvalidArgumentError("header must be a header name")
    wanted = header.strip().lower().encode("latin-1")
    make = Holder.user if kind == "user" else Holder.token
    # Holders by header value: a request costs a dict lookup, not a Holder (bounded).
    known: dict[bytes, Holder] = {}

    def from_header(conn: HTTPConnection) -> Holder | None:
        found = None
        for name, value in conn.scope["headers"]:
            if name == wanted:
                if found is not None:  # repeated: which one the proxy set is unclear
                    return None
                found = value
        if found is None:
            return None
        holder = known.get(found)
        if holder is None:
            text = found.decode("latin-1").strip()
            if not text:
                return None
            if len(known) >= _KNOWN_HOLDERS:
                known.clear()
            holder = known[found] = make(text, scope)
        return holder

    from_header.__qualname__ = f"header_identity({header!r}, kind={kind!r}, scope={scope!r})"
    return from_header


#: How many holders a ``header_identity`` remembers by header value.
_KNOWN_HOLDERS = 4096


def default_identity(scope: Scope | None = None) -> IdentityResolver:
    """The Tokenpass login when the app keeps sessions and has one, else ``request.user``.
    A request with neither a session nor ``request.user`` (the middleware missing, or
    listed after ``TcaGateMiddleware``) has no identity, and the gate then raises
    ``GateConfigError``, naming the fix.

    By default (no ``scope``) the login is read in the ``protected`` scope, as Tokenpass's
    ``tca/check`` decides: a login not granted ``private-balances`` raises
    ``GateConfigError``. ``request.user`` is the fallback, by username: public addresses
    only; private addresses and promises to user:{name} are not seen.
    ``scope="public"`` reads the login's public balances too; in the ``protected`` scope
    only the login counts: a rule with an upper bound ("fewer than 10 TOKENLY") must never
    be judged on fewer balances than asked for.
    """
    if scope is not None:
        _check_scope(scope)
    try:
        from_login: IdentityResolver | None = login_identity(scope or "protected")
    except ImportError:  # no login extra: only request.user can name someone
        from_login = None
    from_auth_user = auth_user_identity() if scope != "protected" else None

    needs = (("session",) if from_login is not None else ()) + (
        ("user",) if from_auth_user is not None else ()
    )

    def from_session_or_user(conn: HTTPConnection) -> Holder | None:
        if from_login is not None and "session" in conn.scope:
            holder = from_login(conn)
            if holder is not None:
                assert isinstance(holder, Holder)
                return holder
        if from_auth_user is None:
            return None
        answer = from_auth_user(conn)
        assert not isinstance(answer, Awaitable)
        return answer

    shown = "" if scope is None else repr(scope)
    from_session_or_user.__qualname__ = f"default_identity({shown})"
    _NEEDS[from_session_or_user] = needs
    return from_session_or_user


def _check_scope(scope: object) -> None:
    if scope not in BALANCE_SCOPES:
        raise InvalidArgumentError(f"scope must be 'public' or 'protected', not {scope!r}")


def _granted(scopes: str) -> frozenset[str]:
    """The scopes of a login record (Tokenpass joins them with commas)."""
    return frozenset(re.split(r"[,\s]+", scopes.strip()))
