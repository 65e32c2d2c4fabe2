"""FastAPI support: ``require_tokens(rule)``, a dependency that lets a route run only for
holders who pass the rule, and shows in the OpenAPI document as a security requirement.

>>> from fastapi import Depends, FastAPI
>>> from tca_gate import Gate, StaticBalances
>>> from tca_gate.fastapi import require_tokens
>>> app = FastAPI()
>>> app.state.tca_gate = Gate(StaticBalances({}))
>>> @app.get("/members")
... async def members(verdict=Depends(require_tokens("TOKENLY >= 1", name="members"))):
...     return {"welcome": verdict.username}
>>> app.openapi()["paths"]["/members"]["get"]["security"]
[{'TokenpassLogin': []}]

Needs FastAPI (``pip install 'tca-gate[fastapi]'``); the rest of tca-gate does not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Annotated

try:
    from fastapi import Depends
    from fastapi.exceptions import HTTPException, WebSocketException
    from fastapi.openapi.models import APIKey, APIKeyIn
    from fastapi.security.base import SecurityBase
except ImportError as error:  # pragma: no cover - depends on what is installed
    raise ImportError("tca_gate.fastapi needs FastAPI: pip install 'tca-gate[fastapi]'") from error

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from tca_gate.gate import (
    Gate,
    Outcome,
    Verdict,
    admit,
    gate_of,
    mark_private,
    refusal_headers,
    watching,
)
from tca_gate.rules import Dialect, RuleSource, compile_rule

__all__ = ["TokenGuard", "TokenRefusal", "refusal_handler", "require_tokens"]

#: The security scheme's name in the OpenAPI document.
SCHEME_NAME = "TokenpassLogin"

#: Where Starlette's routing finds the app's exception handlers, per request.
_HANDLERS_KEY = "starlette.exception_handlers"


class TokenRefusal(HTTPException):
    """A request ``require_tokens`` refused: ``verdict`` says why, ``detail`` for people.

    ``refusal_handler`` answers it as the gate answers everywhere else (the JSON
    ``{"error", "detail", "rule", "rule_hash", "decision"}``, a page or a login redirect
    for browsers, or the gate's ``on_refusal``); without it, FastAPI's own handler gives
    ``{"detail": ...}``."""

    def __init__(self, gate: Gate, verdict: Verdict) -> None:
        super().__init__(
            verdict.status, detail=verdict.detail, headers=refusal_headers(verdict, gate.login_url)
        )
        self.gate = gate
        self.verdict = verdict


async def refusal_handler(request: Request, error: Exception) -> Response:
    """The exception handler of ``TokenRefusal``: the gate's own refusal (or its
    ``on_refusal``'s). ``require_tokens`` puts it in the app's handlers when a request is
    first refused, unless the app registered one for ``TokenRefusal`` itself."""
    if not isinstance(error, TokenRefusal):
        raise error
    return await error.gate.refuse(request, error.verdict)


async def _connection_stack() -> AsyncIterator[AsyncExitStack]:
    """A stack FastAPI leaves once the route's call is over: an allowed websocket is
    judged again while it is open, in it."""
    async with AsyncExitStack() as stack:
        yield stack


class TokenGuard(SecurityBase):
    """The dependency ``require_tokens`` makes: call it with the request, get the
    ``Verdict`` when allowed; otherwise a ``TokenRefusal`` (401, 403 or 503), answered as
    the gate answers everywhere: the JSON ``{"error", "detail", "rule", "rule_hash",
    "decision"}`` (flat, as ``TcaGateMiddleware`` gives it), a page or a login redirect
    for browsers, or the gate's ``on_refusal``. A websocket is closed with code 1008
    before it is accepted; once let in, it is judged again while open and closed with
    1008 when refused (see "Revoking access" in the docs).

    The route's answer is made ``Cache-Control: private, no-store`` (with ``Vary``) when
    FastAPI builds the response from what the route returns; a route that returns a
    ``Response`` itself should be behind ``TcaGateMiddleware`` or mark it so itself."""

    def __init__(
        self,
        rule: RuleSource,
        *,
        gate: Gate | None = None,
        name: str | None = None,
        dialect: Dialect = "strict",
        session_cookie: str = "session",
    ) -> None:
        self.rule = compile_rule(rule, dialect)
        self.gate = gate
        self.name = name
        self.scheme_name = SCHEME_NAME
        self.model = APIKey.model_validate(
            {
                "in": APIKeyIn.cookie,
                "name": session_cookie,
                "description": (
                    "The session of a 'Log in with Tokenpass'; each operation lets in only "
                    "the holders its token rule admits (401 without a login, 403 when the "
                    "holdings fall short, 503 when they cannot be read)."
                ),
            }
        )

    def __repr__(self) -> str:
        return f"require_tokens({self.rule.to_expr()!r})"

    async def __call__(
        self,
        connection: HTTPConnection,
        response: Response,
        stack: Annotated[AsyncExitStack | None, Depends(_connection_stack)] = None,
    ) -> Verdict:
        gate = gate_of(connection, self.gate)
        verdict = await gate.check(connection, self.rule, self.name)
        admit(connection.scope, verdict)
        if verdict.outcome is Outcome.ALLOWED or verdict.shadow:
            mark_private(response.headers)
            if (
                stack is not None
                and verdict.outcome is Outcome.ALLOWED
                and isinstance(connection, WebSocket)
            ):
                await stack.enter_async_context(watching(gate, connection, verdict))
            return verdict
        if connection.scope["type"] == "websocket":
            raise WebSocketException(code=1008, reason=verdict.outcome.value)
        handlers = connection.scope.get(_HANDLERS_KEY)
        if handlers:  # the app's own handlers, as Starlette's routing reads them
            handlers[0].setdefault(TokenRefusal, refusal_handler)
        raise TokenRefusal(gate, verdict)


def require_tokens(
    rule: RuleSource,
    *,
    gate: Gate | None = None,
    name: str | None = None,
    dialect: Dialect = "strict",
    session_cookie: str = "session",
) -> TokenGuard:
    """A FastAPI dependency for ``Depends(...)`` or ``Security(...)`` guarding a route with
    ``rule`` (compiled now: a bad rule stops the app from starting). The gate is ``gate``,
    else the one ``TcaGateMiddleware`` put in the scope, else ``app.state.tca_gate``."""
    return TokenGuard(rule, gate=gate, name=name, dialect=dialect, session_cookie=session_cookie)
