import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from tca_gate import (
    AsyncRedisReplayStore,
    Gate,
    RedisCachedBalances,
    TcaGateMiddleware,
    TokenpassBalances,
)
from tca_gate.gate import BalanceWebhook
from tca_gate.login import RedisLoginStore, TokenpassLogin

TOKENPASS = os.environ["TOKENPASS_URL"]
CLIENT_ID, SECRET = os.environ["TOKENPASS_CLIENT_ID"], os.environ["TOKENPASS_CLIENT_SECRET"]
REDIS = os.environ["REDIS_URL"]  # one Redis that every worker and machine shares

logins = redis.asyncio.Redis.from_url(REDIS)
login = TokenpassLogin(TOKENPASS, CLIENT_ID, SECRET, store=RedisLoginStore(logins))
source = TokenpassBalances.for_gate(TOKENPASS, CLIENT_ID, SECRET)
balances = RedisCachedBalances.from_url(  # answers of the last second kept in each worker too
    source, REDIS, ttl=30.0, stale_for=60.0, near_ttl=1.0
)
gate = Gate(balances, identity=login.identity())  # the login's token, in the protected scope
webhook = BalanceWebhook(  # Tokenpass says whose balances changed: every worker forgets them
    balances,
    api_token=CLIENT_ID,
    api_secret=SECRET,
    replay_store=(replays := AsyncRedisReplayStore.from_url(REDIS)),  # each event once
)


async def members(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"Welcome, {request.state.tca_gate.username}.")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield  # then, on shut-down, close what this worker opened
    await logins.aclose()
    await balances.aclose()
    await source.aclose()
    await replays.aclose()


app = Starlette(
    routes=[
        Route("/members", members, name="members"),
        Mount("/auth", routes=login.routes),
        Route("/hooks/balances", webhook),
    ],
    middleware=[  # outermost first: the session before the gate
        Middleware(SessionMiddleware, secret_key=os.environ["SESSION_SECRET"], https_only=True),
        Middleware(
            TcaGateMiddleware,
            gate=gate,
            rules={"route:members": "TOKENLY >= 1 or LTBCOIN >= 10000"},
        ),
    ],
    lifespan=lifespan,
)
