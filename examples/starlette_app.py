"""A Starlette app whose pages are gated by the Tokenpass tokens its visitors hold.

    python examples/starlette_app.py      # then open http://127.0.0.1:8000

Without TOKENPASS_URL it starts a local Tokenpass sandbox to log in with (alice passes
both rules, bob only the lounge's, carol neither; passwords alice-password, ...). With
TOKENPASS_URL, TOKENPASS_CLIENT_ID and TOKENPASS_CLIENT_SECRET it uses that Tokenpass.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Mount, Route

from tca_gate.balances import CachedBalances, TokenpassBalances
from tca_gate.gate import Gate, TcaGateMiddleware, requires_tokens
from tca_gate.login import TokenpassLogin, csrf_field, current_user
from tca_gate.tokenpass import AsyncTokenpassClient

LOG_IN = '<a href="/auth/login">Log in with Tokenpass</a>'
LINKS = '<a href="/members">members</a> · <a href="/lounge">lounge</a>'
#: Logging out is a POST carrying the session's CSRF token (filled in per request).
LOG_OUT = '<form method="post" action="/auth/logout">{csrf}<button>Log out</button></form>'


async def home(request: Request) -> HTMLResponse:
    user = current_user(request)  # the user only: the token never goes to the page
    if user is None:
        return HTMLResponse(f"<p>{LOG_IN}</p><p>{LINKS}</p>")
    log_out = LOG_OUT.format(csrf=csrf_field(request))
    return HTMLResponse(f"<p>You are {escape(user.username)}.</p>{log_out}<p>{LINKS}</p>")


async def members(request: Request) -> PlainTextResponse:
    """Guarded by the middleware's rule for the route named "members"."""
    verdict = request.state.tca_gate  # the gate's Verdict: who, what they hold, why allowed
    return PlainTextResponse(f"Welcome to the members' page, {verdict.username}.")


@requires_tokens("LTBCOIN >= 1000", name="lounge")
async def lounge(request: Request) -> PlainTextResponse:
    """Guarded by its own rule; the decorator finds the gate the middleware put in the scope."""
    return PlainTextResponse("Welcome to the LTBCOIN lounge.")


def create_app(tokenpass_url: str, client_id: str, client_secret: str) -> Starlette:
    client = AsyncTokenpassClient(tokenpass_url, client_id, client_secret)
    # The login keeps the user's token server side; the cookie holds a random id only.
    login = TokenpassLogin(tokenpass_url, client_id, client_secret)
    # login.identity(): every verified address of the user counts, as in Tokenpass's tca/check
    gate = Gate(CachedBalances(TokenpassBalances(client), ttl=30), identity=login.identity())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    return Starlette(
        routes=[
            Route("/", home),
            Route("/members", members, name="members"),
            Route("/lounge", lounge),
            Mount("/auth", routes=login.routes),
        ],
        middleware=[
            Middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32)),
            Middleware(
                TcaGateMiddleware,
                gate=gate,
                rules={"route:members": "TOKENLY >= 1 or LTBCOIN >= 10000"},
            ),
        ],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    from tca_gate.demo import run_example

    run_example(create_app)
