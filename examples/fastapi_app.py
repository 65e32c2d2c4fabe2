"""A FastAPI app whose routes are gated by the Tokenpass tokens its callers hold.

    python examples/fastapi_app.py        # then open http://127.0.0.1:8000

Without TOKENPASS_URL it starts a local Tokenpass sandbox to log in with (alice passes
both rules, bob only the lounge's, carol neither; passwords alice-password, ...). With
TOKENPASS_URL, TOKENPASS_CLIENT_ID and TOKENPASS_CLIENT_SECRET it uses that Tokenpass.
The gated routes answer JSON: 401 before logging in, 403 with what is missing.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Router

from tca_gate.balances import CachedBalances, TokenpassBalances
from tca_gate.fastapi import require_tokens
from tca_gate.gate import Gate, Verdict
from tca_gate.login import TokenpassLogin, csrf_field, current_user
from tca_gate.tokenpass import AsyncTokenpassClient

Members = Annotated[
    Verdict, Depends(require_tokens("TOKENLY >= 1 or LTBCOIN >= 10000", name="members"))
]
Lounge = Annotated[Verdict, Depends(require_tokens("LTBCOIN >= 1000", name="lounge"))]
LOG_IN = '<a href="/auth/login">Log in with Tokenpass</a>'
LINKS = '<a href="/members">members</a> · <a href="/lounge">lounge</a>'
#: Logging out is a POST carrying the session's CSRF token (filled in per request).
LOG_OUT = '<form method="post" action="/auth/logout">{csrf}<button>Log out</button></form>'


def create_app(tokenpass_url: str, client_id: str, client_secret: str) -> FastAPI:
    client = AsyncTokenpassClient(tokenpass_url, client_id, client_secret)
    # The login keeps the user's token server side; the cookie holds a random id only.
    login = TokenpassLogin(tokenpass_url, client_id, client_secret)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app = FastAPI(lifespan=lifespan)
    # login.identity(): every verified address of the user counts, as in Tokenpass's tca/check
    app.state.tca_gate = Gate(
        CachedBalances(TokenpassBalances(client), ttl=30), identity=login.identity()
    )
    app.add_middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32))
    app.mount("/auth", Router(login.routes))

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> str:
        user = current_user(request)  # the user only: the token never goes to the page
        if user is None:
            return f"<p>{LOG_IN}</p><p>{LINKS}</p>"
        log_out = LOG_OUT.format(csrf=csrf_field(request))
        return f"<p>You are {escape(user.username)}.</p>{log_out}<p>{LINKS}</p>"

    @app.get("/members")
    async def members(verdict: Members) -> dict[str, str]:
        """Only for holders of a TOKENLY or of 10,000 LTBCOIN; the Verdict says why."""
        return {"page": "members", "rule": verdict.rule.to_expr()}

    @app.get("/lounge")
    async def lounge(verdict: Lounge) -> dict[str, str]:
        """Only for holders of 1,000 LTBCOIN."""
        return {"page": "lounge", "rule": verdict.rule.to_expr()}

    return app


if __name__ == "__main__":
    from tca_gate.demo import run_example

    run_example(create_app)
