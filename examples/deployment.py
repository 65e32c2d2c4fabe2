"""A gated app deployed on several worker processes sharing Redis: logins, cached balances,
replay records and the balance webhook, as docs/deploying.md sets out. tests/test_deployment.py
runs it with four workers and checks that a webhook makes every one of them refuse.

    redis-server --port 6379 --save '' &
    tca-gate sandbox --port 9000 &
    export TOKENPASS_URL=http://127.0.0.1:9000 TOKENPASS_CLIENT_ID=demo-app \\
        TOKENPASS_CLIENT_SECRET=demo-app-secret REDIS_URL=redis://127.0.0.1:6379/0 \\
        SESSION_SECRET=$(openssl rand -hex 32)
    uvicorn examples.deployment:app --workers 4 --port 8000     # at the repository's root

REDIS_CLUSTER=1 makes REDIS_URL one node of a Redis Cluster (the clients find the rest);
NEAR_TTL=1.0 keeps each worker's last second of answers near, in front of Redis.
Every response names the worker that made it in an ``X-Worker`` header (its pid).
"""

from __future__ import annotations

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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tca_gate import (
    AsyncRedisReplayStore,
    Gate,
    RedisCachedBalances,
    TcaGateMiddleware,
    TokenpassBalances,
)
from tca_gate.balances import BalanceSource
from tca_gate.gate import BalanceWebhook
from tca_gate.login import RedisLoginStore, TokenpassLogin, current_user

TOKENPASS = os.environ["TOKENPASS_URL"]
CLIENT_ID, SECRET = os.environ["TOKENPASS_CLIENT_ID"], os.environ["TOKENPASS_CLIENT_SECRET"]
REDIS = os.environ["REDIS_URL"]  # one Redis (or Redis Cluster) every worker shares
CLUSTER = os.environ.get("REDIS_CLUSTER", "") == "1"
RULE = "TOKENLY >= 1 or LTBCOIN >= 10000"


def shared_balances(source: BalanceSource) -> RedisCachedBalances:
    """Balances cached in Redis for every worker: one upstream call per holder, and the
    webhook's ``forget`` has reached every worker by the time it answers 200 (with a near
    cache: every worker's near answers are dropped as the change reaches it, and none is
    served ``NEAR_TTL`` seconds after the 200)."""
    near_ttl = float(os.environ["NEAR_TTL"]) if os.environ.get("NEAR_TTL") else None
    return RedisCachedBalances.from_url(source, REDIS, cluster=CLUSTER, ttl=30.0, near_ttl=near_ttl)


class WorkerHeader:
    """Names the worker process (its pid) in an ``X-Worker`` header on every response,
    so an operator, or the deployment's test, can tell which worker answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                worker = (b"x-worker", str(os.getpid()).encode())
                message = {**message, "headers": [*message.get("headers", []), worker]}
            await send(message)

        await self.app(scope, receive, named)


connect = redis.asyncio.RedisCluster if CLUSTER else redis.asyncio.Redis
logins = connect.from_url(REDIS)
login = TokenpassLogin(TOKENPASS, CLIENT_ID, SECRET, store=RedisLoginStore(logins))
source = TokenpassBalances.for_gate(TOKENPASS, CLIENT_ID, SECRET)
balances = shared_balances(source)
gate = Gate(balances, identity=login.identity())  # the login's token, in the protected scope
replays = AsyncRedisReplayStore.from_url(REDIS, cluster=CLUSTER)  # each webhook event once
webhook = BalanceWebhook(balances, api_token=CLIENT_ID, api_secret=SECRET, replay_store=replays)


async def home(request: Request) -> PlainTextResponse:
    user = current_user(request)
    return PlainTextResponse(f"You are {user.username}." if user else "Log in at /auth/login.")


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
        Route("/", home),
        Route("/members", members, name="members"),
        Mount("/auth", routes=login.routes),
        Route("/hooks/balances", webhook),
    ],
    middleware=[  # outermost first: the worker's name, the session, then the gate
        Middleware(WorkerHeader),
        Middleware(SessionMiddleware, secret_key=os.environ["SESSION_SECRET"], https_only=True),
        Middleware(TcaGateMiddleware, gate=gate, rules={"route:members": RULE}),
    ],
    lifespan=lifespan,
)
