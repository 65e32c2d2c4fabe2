"""Part 2: many requests at once for one uncached identity through the real chain (gate
app -> cache -> ``TokenpassBalances`` -> sandbox), in one process and in two sharing Redis;
the sandbox should see one balance request."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import httpx2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from benchmarks.gate.harness import (
    RULE,
    USER_HEADER,
    Log,
    ServerProcess,
    Settings,
    cpu_plan,
    hello,
    servers,
)
from benchmarks.gate.redis_server import redis_server
from tca_gate.balances import CachedBalances, Holder, RedisCachedBalances, TokenpassBalances
from tca_gate.gate import Gate, TcaGateMiddleware
from tca_gate.tokenpass import AsyncTokenpassClient

if TYPE_CHECKING:
    from tca_gate.sandbox import SandboxServer

HERD_TARGET = 1
#: The header carrying an OAuth token: the identity of the herd apps.
TOKEN_HEADER = "x-token"
#: The sandbox's endpoint for a token's public balances: what a herd should call once.
BALANCES_PATH = "/api/v1/tca/public/balances"


def token_identity(conn: HTTPConnection) -> Holder | None:
    """A login without the session: the ``x-token`` header's OAuth token, owned by the
    ``x-user`` header's user (the holder ``login_identity`` builds)."""
    token = conn.headers.get(TOKEN_HEADER)
    if not token:
        return None
    return Holder.token(token, "public", owner=conn.headers.get(USER_HEADER) or None)


class CountingTransport(httpx2.AsyncHTTPTransport):
    """An httpx2 transport that counts the requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent += 1
        return await super().handle_async_request(request)


def chain_app(spec: Mapping[str, Any]) -> Starlette:
    """/members gated on the real chain: ``CachedBalances`` (``RedisCachedBalances`` when
    ``spec`` names a Redis URL) -> ``TokenpassBalances`` -> the sandbox."""
    transport = CountingTransport()
    client = AsyncTokenpassClient(
        spec["sandbox_url"], spec["client_id"], spec["client_secret"], transport=transport
    )
    source = TokenpassBalances(client)
    cache: CachedBalances | RedisCachedBalances
    if spec.get("redis_url"):
        cache = RedisCachedBalances.from_url(source, spec["redis_url"], prefix=spec["prefix"])
    else:
        cache = CachedBalances(source)

    async def stats(_: Request) -> Response:
        return JSONResponse({"cache": asdict(cache.stats), "sent": transport.sent})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        if isinstance(cache, RedisCachedBalances):
            await cache.aclose()
        await client.aclose()

    gate = Gate(cache, identity=token_identity)
    return Starlette(
        routes=[Route("/members", hello), Route("/_stats", stats)],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules={"/members": RULE})],
        lifespan=lifespan,
    )


class CountRequests:
    """Pure ASGI: counts the requests to one path (the sandbox's balances endpoint)."""

    def __init__(self, app: ASGIApp, *, path: str, counts: list[int]) -> None:
        self.app = app
        self.path = path
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            self.counts[0] += 1
        await self.app(scope, receive, send)


@dataclass
class Herd:
    """One herd: ``requests`` sent at once for one uncached identity."""

    cache: str
    instances: int
    requests: int
    statuses: dict[str, int]
    seconds: float  # from the first request sent to the last answer, the hold included
    delay: float
    sandbox_calls: int  # balance requests the sandbox received
    sent: int  # HTTP requests the apps' Tokenpass clients sent
    upstream_calls: int  # CacheStats.upstream_calls, summed over the app processes
    hits: int
    misses: int  # requests not answered from the cache: they waited for the fetch

    @property
    def passed(self) -> bool:
        return (
            self.sandbox_calls == self.sent == self.upstream_calls == HERD_TARGET
            and self.statuses == {"200": self.requests}
        )


async def stampede(urls: Sequence[str], count: int, headers: Mapping[str, str]) -> list[str]:
    """``count`` GETs at once, taking ``urls`` in turn; each answer's status (or error)."""
    limits = httpx2.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx2.AsyncClient(limits=limits, timeout=120) as client:

        async def one(index: int) -> str:
            try:
                answer = await client.get(urls[index % len(urls)], headers=headers)
            except httpx2.HTTPError as error:
                return type(error).__name__
            return str(answer.status_code)

        return await asyncio.gather(*(one(index) for index in range(count)))


def run_herd(
    sandbox: SandboxServer,
    apps: Sequence[ServerProcess],
    counts: list[int],
    cache: str,
    settings: Settings,
) -> Herd:
    token = sandbox.access_token("alice", ["user", "tca"])  # a new, uncached identity
    before = counts[0]
    # The sandbox holds its first balance answer back, so the whole herd arrives while
    # that one fetch is in flight (the misses count says how many did).
    sandbox.inject_faults(200, 1, delay=settings.herd_delay, path_prefix=BALANCES_PATH)
    headers = {TOKEN_HEADER: token, USER_HEADER: "alice", "accept": "application/json"}
    urls = [app.url + "/members" for app in apps]
    started = time.perf_counter()
    answers = asyncio.run(stampede(urls, settings.herd, headers))
    seconds = time.perf_counter() - started
    sandbox.clear_faults()
    statuses: dict[str, int] = {}
    for answer in answers:
        statuses[answer] = statuses.get(answer, 0) + 1
    stats = [app.stats() for app in apps]
    return Herd(
        cache=cache,
        instances=len(apps),
        requests=settings.herd,
        statuses=statuses,
        seconds=seconds,
        delay=settings.herd_delay,
        sandbox_calls=counts[0] - before,
        sent=sum(s["sent"] for s in stats),
        upstream_calls=sum(s["cache"]["upstream_calls"] for s in stats),
        hits=sum(s["cache"]["hits"] for s in stats),
        misses=sum(s["cache"]["misses"] for s in stats),
    )


def bench_herd(settings: Settings, log: Log) -> list[Herd]:
    # Imported here: the app processes, which import this module, never start a sandbox.
    from tca_gate.sandbox import SandboxServer

    server_cpu, _ = cpu_plan()
    herds: list[Herd] = []
    counts = [0]
    with SandboxServer() as sandbox:
        # Before its first request, while Starlette still takes middleware.
        sandbox.app.add_middleware(CountRequests, path=BALANCES_PATH, counts=counts)
        chain = {
            "app": "chain",
            "sandbox_url": sandbox.url,
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        }
        with servers((chain, server_cpu)) as apps:
            herds.append(run_herd(sandbox, apps, counts, "CachedBalances", settings))
        log(f"  CachedBalances: {herds[-1].sandbox_calls} call(s) at the sandbox")
        with redis_server() as url:
            if url is None:
                log("  RedisCachedBalances: skipped, redis-server is not installed")
                return herds
            shared = {**chain, "redis_url": url, "prefix": f"bench-{secrets.token_hex(4)}:"}
            with servers((shared, None), (shared, None)) as apps:
                herds.append(run_herd(sandbox, apps, counts, "RedisCachedBalances", settings))
            log(f"  RedisCachedBalances: {herds[-1].sandbox_calls} call(s) at the sandbox")
    return herds
