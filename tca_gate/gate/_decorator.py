"""``requires_tokens``: guard one Starlette endpoint with a rule, in the style of
``starlette.authentication.requires`` (sync or async, HTTP or websocket)."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.routing import NoMatchFound
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from tca_gate.errors import GateConfigError
from tca_gate.rules import Dialect, RuleSource, compile_rule

from ._gate import Gate
from ._middleware import GATE_SCOPE_KEY, admit, send_refusal
from ._responses import is_same_origin_path, mark_private
from ._revocation import watched
from ._verdict import Outcome

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

#: The ``app.state`` attribute a decorator looks for the gate in, after the middleware's.
APP_STATE_KEY = "tca_gate"

#: What a route name looks like (``members``, ``auth:tokenpass_login``).
_ROUTE_NAME = re.compile(r"[A-Za-z_][\w.:-]*")


def requires_tokens(
    rule: RuleSource,
    *,
    gate: Gate | None = None,
    name: str | None = None,
    redirect: str | None = None,
    dialect: Dialect = "strict",
) -> Callable[[Endpoint], Endpoint]:
    """Let the endpoint run only for requests whose holder passes ``rule``.

    The rule compiles here, when the module is imported (a bad rule stops the app
    from starting). The gate is ``gate``, else the one ``TcaGateMiddleware`` put in
    the scope, else ``request.app.state.tca_gate``. Refusals are the gate's (401,
    403, 503; a websocket is refused before it is accepted); ``redirect`` (a route name
    or a path on this site, never another site) replaces the login page unauthenticated
    browsers are sent to. The verdict is on ``request.state.tca_gate``, the scopes
    ``tca`` and ``tca:<name>`` on ``request.auth`` when allowed, and an allowed
    ``Response`` is made ``Cache-Control: private, no-store`` with ``Vary``. An allowed
    websocket is judged again while open and closed with 1008 once refused.

    >>> from starlette.responses import PlainTextResponse
    >>> @requires_tokens("TOKENLY >= 1 or LTBCOIN >= 10000", name="members")
    ... async def members(request):
    ...     return PlainTextResponse("welcome")
    """
    compiled = compile_rule(rule, dialect)
    if redirect is not None:
        _check_redirect(redirect)

    def decorate(endpoint: Endpoint) -> Endpoint:
        position = _connection_parameter(endpoint)
        is_async = inspect.iscoroutinefunction(endpoint)

        @functools.wraps(endpoint)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            conn = kwargs.get("request", kwargs.get("websocket"))
            if conn is None:
                conn = args[position]
            if not isinstance(conn, HTTPConnection):
                raise GateConfigError(
                    f"{endpoint.__qualname__} was not called with a request or websocket"
                )
            chosen = gate_of(conn, gate)
            verdict = await chosen.check(conn, compiled, name)
            admit(conn.scope, verdict)
            if verdict.outcome is not Outcome.ALLOWED and not verdict.shadow:
                login_url = None if redirect is None else _redirect_path(conn, redirect)
                if isinstance(conn, WebSocket):
                    await send_refusal(
                        chosen, conn, verdict, conn.receive, conn.send, login_url=login_url
                    )
                    return None
                return await chosen.refuse(conn, verdict, login_url=login_url)
            if isinstance(conn, WebSocket) and verdict.outcome is Outcome.ALLOWED:

                async def run(scope: Scope, receive: Receive, send: Send) -> None:
                    socket = WebSocket(scope, receive, send)  # the app's sends, watched
                    if "websocket" in kwargs or "request" in kwargs:
                        key = "websocket" if "websocket" in kwargs else "request"
                        await call(*args, **{**kwargs, key: socket})
                    else:
                        await call(*args[:position], socket, *args[position + 1 :], **kwargs)

                await watched(chosen, conn, verdict, run, receive=conn.receive, send=conn.send)
                return None
            return await call(*args, **kwargs)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if is_async:
                answer = await endpoint(*args, **kwargs)
            else:
                answer = await run_in_threadpool(endpoint, *args, **kwargs)
            if isinstance(answer, Response):
                mark_private(answer.headers)
            return answer

        return guarded  # type: ignore[return-value]

    return decorate


def gate_of(conn: HTTPConnection, gate: Gate | None) -> Gate:
    """``gate``, else the middleware's (in the scope), else ``app.state.tca_gate``."""
    if gate is not None:
        return gate
    found = conn.scope.get(GATE_SCOPE_KEY)
    if found is None:
        app = conn.scope.get("app")
        found = getattr(getattr(app, "state", None), APP_STATE_KEY, None)
    if not isinstance(found, Gate):
        raise GateConfigError(
            "requires_tokens found no Gate: pass gate=..., add TcaGateMiddleware, "
            "or set app.state.tca_gate = Gate(...)"
        )
    return found


def _redirect_path(conn: HTTPConnection, redirect: str) -> str:
    """``redirect`` as a path: itself, or the path of the route of that name."""
    if redirect.startswith("/"):
        return redirect
    try:
        path = conn.url_for(redirect).path
    except NoMatchFound:
        raise GateConfigError(
            f"requires_tokens(redirect={redirect!r}) names no route of the app"
        ) from None
    if not is_same_origin_path(path):
        raise GateConfigError(f"the route {redirect!r} is not a path on this site: {path!r}")
    return path


def _check_redirect(redirect: object) -> None:
    """Refuse a redirect that is neither a route name nor a path on this site."""
    if not isinstance(redirect, str) or not redirect:
        raise GateConfigError(f"redirect must be a route name or a path, not {redirect!r}")
    if redirect.startswith("/"):
        safe = is_same_origin_path(redirect)
    else:
        safe = _ROUTE_NAME.fullmatch(redirect) is not None
    if not safe:
        raise GateConfigError(
            f"redirect must be a route name or a path on this site, not {redirect!r}"
        )


def _connection_parameter(endpoint: Callable[..., Any]) -> int:
    for index, parameter in enumerate(inspect.signature(endpoint).parameters.values()):
        if parameter.name in ("request", "websocket"):
            return index
    raise GateConfigError(
        f'requires_tokens needs {endpoint.__qualname__} to take a "request" or "websocket" argument'
    )
