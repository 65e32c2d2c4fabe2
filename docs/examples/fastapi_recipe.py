import os
from typing import Annotated

from fastapi import Depends, FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount

from tca_gate import CachedBalances, Gate, TokenpassBalances, Verdict
from tca_gate.fastapi import require_tokens
from tca_gate.login import TokenpassLogin

TOKENPASS = os.environ["TOKENPASS_URL"]  # your Tokenpass, or `tca-gate sandbox`
CLIENT_ID, SECRET = os.environ["TOKENPASS_CLIENT_ID"], os.environ["TOKENPASS_CLIENT_SECRET"]

login = TokenpassLogin(TOKENPASS, CLIENT_ID, SECRET)  # scopes user,tca,private-balances
balances = CachedBalances(TokenpassBalances.for_gate(TOKENPASS, CLIENT_ID, SECRET), ttl=30)

app = FastAPI(routes=[Mount("/auth", routes=login.routes)])  # /auth/login, /callback, /logout
app.state.tca_gate = Gate(balances, identity=login.identity())
app.add_middleware(SessionMiddleware, secret_key=os.environ["SESSION_SECRET"], https_only=True)

Members = Annotated[Verdict, Depends(require_tokens("TOKENLY >= 1 or LTBCOIN >= 10000"))]


@app.get("/members")
async def members(verdict: Members) -> dict[str, str]:
    return {"welcome": verdict.username}  # 401 before logging in, 403 saying what is missing
