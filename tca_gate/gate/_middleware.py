"""``TcaGateMiddleware``: pure ASGI, HTTP and websocket; rules by path pattern or route name.

Requests to paths no rule guards pass straight through, untouched. A guarded request
is judged by the ``Gate``; allowed, it goes on with the verdict on ``request.state.tca_gate``
and the scopes ``tca`` and ``tca:<name>`` added to ``request.auth`` (so Starlette's
``requires("tca:members")`` works with it); refused, it gets the gate's 401, 403 or 503
(a websocket is refused before it is accepted). An allowed websocket, and a response on
a ``revocable`` path, is judged again while open and closed once refused
(``_revocation``). A refusal shadow mode lets through gains
no scope (``request.auth`` is empty if the app had none), so ``requires`` refuses it.
Every answer on a guarded path is ``Cache-Control: private, no-store`` and varies by
``Accept``, ``Cookie`` and ``Authorization``, each named once in one ``Vary`` header.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from os import PathLike
from typing import Any

from starlette.authentication import AuthCredentials
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from tca_gate.balances import Holder
from tca_gate.errors import GateConfigError
from tca_gate.observe import broken, hooks
from tca_gate.rules import RuleSource
from tca_gate.wire.asgi import route_path

from ._gate import IDENTITY_FAILED, Gate
from ._identity import ORDER_HINT, identity_needs
from ._path_rules import GateRules, granted_scopes, load_rules
from ._responses import PRIVATE_HEADERS, mark_private_message
from ._revocation import watched
from ._verdict import Outcome, Verdict

#: The response headers the gate sets on guarded paths, replacing the app's own.
_REPLACED = frozenset((b"cache-control", b"vary"))

#: ``Outcome.ALLOWED`` as a plain global: reading an Enum member off its class is slow.
ALLOWED = Outcome.ALLOWED

#: Where the middleware leaves its ``Gate`` in the ASGI scope, for ``requires_tokens``.
GATE_SCOPE_KEY = "tca_gate.gate"
#: The ``request.state`` attribute holding the request's ``Verdict``.
STATE_KEY = "tca_gate"


#: The ASGI scope types the gate guards.
_GUARDED_KINDS = frozenset({"http", "websocket"})

_log = logging.getLogger(__name__)


class TcaGateMiddleware:
    """Guard the paths in ``rules`` (a ``GateRules``, a mapping it is built from, or the
    path of a TOML rules file for ``load_rules``) with ``gate``. Once the app's own
    start-up ran (the lifespan; routes it adds count), ``route:<name>`` keys are looked
    up in the app's routes and every path pattern is checked to reach a route. A
    configuration error (a rule that does not compile, a route name the app lacks, a
    pattern no route answers, an unreadable file, the session or authentication
    middleware listed after the gate) fails the app's start-up with a ``GateConfigError``
    naming the fix; served without a lifespan, the first request makes the same checks
    and every request raises it (a 500, never an allow).

    List it after (inside) ``SessionMiddleware`` and ``AuthenticationMiddleware``: it
    reads the session and ``request.user``, and adds to ``request.auth``.

    >>> from starlette.applications import Starlette
    >>> from starlette.middleware import Middleware
    >>> from tca_gate.balances import StaticBalances
    >>> gate = Gate(StaticBalances({}))
    >>> app = Starlette(middleware=[Middleware(TcaGateMiddleware, gate=gate,
    ...     rules={"/members/{rest:path}": "TOKENLY >= 1 or LTBCOIN >= 10000"})])
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        gate: Gate,
        rules: GateRules
        | Mapping[str, RuleSource | Mapping[str, Any]]
        | str
        | PathLike[str]
        | None = None,
    ) -> None:
        self.app = app
        self.gate = gate
        self.rules = GateRules({})
        self._config_error: GateConfigError | None = None
        try:  # Starlette builds middleware lazily, when the lifespan starts: report it there
            if not isinstance(gate, Gate):
                raise GateConfigError(f"gate must be a tca_gate.Gate, not {type(gate).__name__}")
            if rules is None:
                rules = {}
            if isinstance(rules, (str, PathLike)):
                self.rules = load_rules(rules)  # in the file's dialect
            elif isinstance(rules, GateRules):
                self.rules = rules
            else:
                self.rules = GateRules(rules, dialect=gate.dialect)
        except GateConfigError as error:
            _log.error("the gate's configuration is wrong: %s", error)
            self._config_error = error
        self._ready = False  # checked against the app's routes at start-up, or first request
        self._granted = {entry.key: GrantedScopes(entry.scopes) for entry in self.rules.entries}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind in _GUARDED_KINDS:
            gate = self.gate
            scope[GATE_SCOPE_KEY] = gate
            if not self._ready:
                self._resolve(scope)
            path = scope["path"]
            if scope.get("root_path"):
                path = route_path(scope)
            found = self._match(path)
            if found is None:
                await self.app(scope, receive, send)
                return
            entry = self._by_group[found.lastgroup]
            conn = HTTPConnection(scope, receive)
            rule = entry.rule
            # Gate._at_once, inlined (every gated request runs this; keep the two alike):
            # a resolver answering at once, a fresh cache hit, a rule that passes.
            verdict: Verdict | None = None
            try:
                answer: object = gate.identity(conn)
            except gate.config_errors:
                raise  # the app is set up wrong: a 500 naming the fix, not a refusal
            except Exception:
                _log.exception("the identity resolver failed: refusing the request")
                answer = IDENTITY_FAILED
            peek = gate._peek
            if peek is not None and answer.__class__ is Holder:
                try:
                    balances = peek(answer)
                    if balances is not None and rule.evaluate(balances) is True:
                        verdict = Verdict(ALLOWED, rule, entry.name, answer, balances)
                        if gate.log_allows:
                            gate._log(verdict, conn)
                except Exception:  # noqa: S110 (judged again by _settle, which reports it)
                    pass
            if verdict is None:  # not decided at once: the long way, failures reported
                verdict = await gate._settle(conn, rule, entry.name, answer)
            state = scope.get("state")
            if state is None:
                scope["state"] = state = {}
            state[STATE_KEY] = verdict
            if hooks.observer is not None:
                try:
                    hooks.observer.decision(verdict.outcome, entry.name or entry.key)
                except Exception as error:
                    broken("decision", error)
            if verdict.outcome is ALLOWED:
                existing = scope.get("auth")
                if isinstance(existing, AuthCredentials):
                    scope["auth"] = AuthCredentials([*existing.scopes, *entry.scopes])
                else:
                    scope["auth"] = self._granted[entry.key]
            elif not verdict.shadow:
                await send_refusal(gate, conn, verdict, receive, send)
                return
            elif "auth" not in scope:  # shadow: no scopes, so requires("tca:...") is a 403
                scope["auth"] = NO_SCOPES
            if kind == "websocket":
                if verdict.outcome is ALLOWED:
                    await watched(gate, conn, verdict, self.app, receive=receive, send=send)
                else:
                    await self.app(scope, receive, send)
                return

            async def send_private(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = message.get("headers", ())
                    if headers.__class__ is not list and headers.__class__ is not tuple:
                        headers = message["headers"] = list(headers)  # may be read once only
                    for name, _ in headers:  # usually neither is set yet
                        size = len(name)  # cheaper than lower() on every name
                        if (size == 13 or size == 4) and name.lower() in _REPLACED:  # noqa: PLR1714
                            mark_private_message(message)
                            break
                    else:  # a new list: the app's may be shared between responses
                        message["headers"] = [*headers, *PRIVATE_HEADERS]
                await send(message)

            if entry.revocable and verdict.outcome is ALLOWED:
                await watched(gate, conn, verdict, self.app, receive=receive, send=send_private)
                return
            await self.app(scope, receive, send_private)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _resolve(self, scope: Scope) -> None:
        """Check the configuration against the app in ``scope`` (its routes, its middleware
        order) and resolve ``route:`` keys; raise the configuration error if any."""
        if self._config_error is not None:
            raise self._config_error
        app = scope.get("app")
        routes = getattr(app, "routes", None)
        if routes is not None:
            self.rules.resolve(routes)
        elif not self.rules.resolved:
            raise GateConfigError(
                "rules name routes ('route:...') but the app's routes cannot be found: "
                "use TcaGateMiddleware inside a Starlette or FastAPI app"
            )
        self._check_order(getattr(app, "user_middleware", None) or ())
        self._match, self._by_group = self.rules.lookup
        self._ready = True

    def _check_order(self, stack: Iterable[object]) -> None:
        """Raise ``GateConfigError`` when the middleware the gate's identity reads (sessions,
        ``request.user``) is listed after the gate in the app's ``middleware``: inside it,
        so the gate never sees what it adds."""
        needs = identity_needs(self.gate.identity)
        listed = [(getattr(entry, "cls", None), getattr(entry, "kwargs", {})) for entry in stack]
        ours = [
            index
            for index, (kind, options) in enumerate(listed)
            if isinstance(kind, type)
            and issubclass(kind, TcaGateMiddleware)
            and options.get("gate") is self.gate
        ]
        if not needs or not ours:
            return
        for kind, _ in listed[ours[0] + 1 :]:
            for need in needs:
                provider = _provider(need)
                if provider is not None and isinstance(kind, type) and issubclass(kind, provider):
                    raise GateConfigError(
                        f"{kind.__name__} is listed after TcaGateMiddleware in the app's "
                        f"middleware, so the gate never sees {_WHAT[need]}: {ORDER_HINT}"
                    )

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the lifespan through; once the app's own start-up ran (routes it added
        included), check the configuration, failing the start-up if it is wrong."""

        async def send_startup(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and not self._ready:
                try:
                    self._resolve(scope)
                except GateConfigError as error:
                    _log.error("the gate's configuration is wrong: %s", error)
                    raise  # the app reports lifespan.startup.failed and stops
            await send(message)

        if self._config_error is not None:  # the app below was never asked to start
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.failed", "message": str(self._config_error)})
            return
        await self.app(scope, receive, send_startup)


def _provider(need: str) -> type | None:
    """The middleware that puts in the scope what an identity reads (``None``: not
    installed, so not in the app either: sessions need itsdangerous, the login extra)."""
    if need == "user":
        return AuthenticationMiddleware
    try:
        from starlette.middleware.sessions import SessionMiddleware  # noqa: PLC0415
    except ImportError:
        return None
    return SessionMiddleware


_WHAT = {"session": "the session (the Tokenpass login)", "user": "request.user"}


class GrantedScopes(AuthCredentials):
    """The auth scopes a rule grants the requests it allows (``tca``, ``tca:<name>``), on
    requests with no auth of their own: one instance per rule, shared by its requests,
    so immutable (``scopes`` is a tuple; setting anything raises ``AttributeError``)."""

    def __init__(self, scopes: tuple[str, ...]) -> None:
        object.__setattr__(self, "scopes", tuple(scopes))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(
            f"request.auth is the gate's, shared by every request its rule allows: "
            f"cannot set {name!r} (replace scope['auth'] instead)"
        )

    def __repr__(self) -> str:
        return f"GrantedScopes({self.scopes!r})"


#: ``request.auth`` of a refusal shadow mode lets through, on a request with no auth of its
#: own: Starlette's ``requires`` then refuses it (403) instead of failing (500).
NO_SCOPES = GrantedScopes(())


def admit(scope: Scope, verdict: Verdict) -> None:
    """Record ``verdict`` on ``request.state`` and, when allowed, add its scopes to the
    auth; a refusal (let through in shadow mode) gets no scopes, but an auth all the same."""
    state = scope.get("state")
    if state is None:
        scope["state"] = state = {}
    state[STATE_KEY] = verdict
    existing = scope.get("auth")
    if verdict.outcome is Outcome.ALLOWED:
        held = existing.scopes if isinstance(existing, AuthCredentials) else ()
        scope["auth"] = AuthCredentials([*held, *granted_scopes(verdict.name)])
    elif existing is None:
        scope["auth"] = NO_SCOPES


async def send_refusal(
    gate: Gate,
    conn: HTTPConnection,
    verdict: Verdict,
    receive: Receive,
    send: Send,
    *,
    login_url: str | None = None,
) -> None:
    """Answer a refused request with the gate's response; a websocket gets it as a denial
    response where the server supports that, else a close with code 1008 before accepting."""
    response = await gate.refuse(conn, verdict, login_url=login_url)
    if conn.scope["type"] == "websocket":
        if "websocket.http.response" in conn.scope.get("extensions", {}):
            await WebSocket(conn.scope, receive, send).send_denial_response(response)
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": verdict.outcome.value})
        return
    await response(conn.scope, receive, send)
