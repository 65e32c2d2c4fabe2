#!/usr/bin/env python
"""Benchmark the gate over HTTP: throughput and latency, a thundering herd, cache memory.

Run ``python benchmarks/bench_gate.py`` from the repository root (``--quick`` for a
smoke run, ``--json`` for machine-readable output, ``--check`` to exit 1 when a target
is missed). Everything is measured in one run, over loopback:

1. requests/s and p50/p99 latency (``wrk``) of a bare Starlette app, an un-gated route
   behind ``TcaGateMiddleware`` and a gated route on a cache hit. Each app runs under
   uvicorn (one worker, access log off) in its own process pinned to one core, ``wrk``
   is pinned to another; the variants take turns over several rounds and the medians
   are compared;
2. many concurrent requests for one uncached identity through the real chain (gate app
   -> ``CachedBalances`` -> ``TokenpassBalances`` -> ``SandboxServer``), then the same
   with ``RedisCachedBalances`` in two app processes sharing a real ``redis-server``:
   upstream calls counted by the caches, by the apps' HTTP clients and at the sandbox;
3. the memory that 100,000 cached identities take in ``CachedBalances``.

See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

import tca_gate
from tca_gate.balances import (
    CachedBalances,
    Holder,
    RedisCachedBalances,
    StaticBalances,
    TokenpassBalances,
)
from tca_gate.gate import Gate, TcaGateMiddleware, header_identity
from tca_gate.tokenpass import AsyncTokenpassClient

SAT = 100_000_000
ROOT = Path(__file__).resolve().parent.parent

#: The demo rule: alice passes it (she holds TOKENLY), carol holds nothing.
RULE = "TOKENLY >= 1 or LTBCOIN >= 10000"
#: The header naming the user: the cheap identity of the throughput apps.
USER_HEADER = "x-user"
#: The header carrying an OAuth token: the identity of the herd apps.
TOKEN_HEADER = "x-token"
#: The sandbox's endpoint for a token's public balances: what a herd should call once.
BALANCES_PATH = "/api/v1/tca/public/balances"

GATED_TARGET = 0.85
UNGATED_TARGET = 0.97
HERD_TARGET = 1
#: Below this share of a core, the server was not alone on its core during a run.
BUSY_CORE = 0.9

Log = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """How long and how hard to run; ``FULL`` and ``QUICK``, or the command line's."""

    rounds: int = 7
    duration: int = 4  # seconds per wrk run (wrk takes whole seconds)
    warmup: int = 2  # seconds of unrecorded wrk per variant before the rounds; 0: none
    connections: int = 32
    herd: int = 1000
    herd_delay: float = 2.0  # seconds the sandbox holds the first balance answer back
    identities: int = 100_000
    rss: bool = True  # also measure RSS growth (one fresh process per store)


FULL = Settings()
QUICK = Settings(
    rounds=1,
    duration=1,
    warmup=0,
    connections=16,
    herd=100,
    herd_delay=0.5,
    identities=2000,
    rss=False,
)

# wrk's report as one line: requests, µs, errors (connect read write status timeout),
# then the latency's p50, p90, p99 and max in µs.
_WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""

# --------------------------------------------------------------------------- the apps


#: The identity resolver behind the gate: the user the ``x-user`` header names, as an
#: authenticating proxy would pass it on (``tca_gate.gate.header_identity``).
user_identity = header_identity(USER_HEADER)


def token_identity(conn: HTTPConnection) -> Holder | None:
    """A login without the session: the ``x-token`` header's OAuth token, owned by the
    ``x-user`` header's user (the holder ``login_identity`` builds)."""
    token = conn.headers.get(TOKEN_HEADER)
    if not token:
        return None
    return Holder.token(token, "public", owner=conn.headers.get(USER_HEADER) or None)


async def hello(request: Request) -> Response:
    """Every app's endpoint: it greets the user the request names. This is the app's
    own identity work, the same in the bare app as behind the gate."""
    return PlainTextResponse(f"hello {request.headers.get(USER_HEADER, 'stranger')}")


async def no_stats(_: Request) -> Response:
    return JSONResponse({})


class CountingTransport(httpx.AsyncHTTPTransport):
    """An httpx transport that counts the requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return await super().handle_async_request(request)


def throughput_app(kind: str) -> Starlette:
    """``bare``: /open and /members, no middleware. ``gate``: the same routes, with
    ``TcaGateMiddleware`` guarding /members on an in-memory cache of static balances."""
    routes = [Route("/open", hello), Route("/members", hello)]
    if kind == "bare":
        return Starlette(routes=[*routes, Route("/_stats", no_stats)])
    holdings = {"alice": {"TOKENLY": 2 * SAT, "LTBCOIN": 12_500 * SAT}, "carol": {}}
    source = StaticBalances({"users": {n: {"public": b} for n, b in holdings.items()}})
    # A TTL far longer than the run: every gated request after the first is a cache hit.
    cache = CachedBalances(source, ttl=3600.0)

    async def stats(_: Request) -> Response:
        return JSONResponse({"cache": asdict(cache.stats), "sent": 0})

    gate = Gate(cache, identity=user_identity)
    return Starlette(
        routes=[*routes, Route("/_stats", stats)],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules={"/members": RULE})],
    )


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


def http_implementation() -> str:
    """uvicorn's ``httptools`` parser when it is installed, else ``h11``."""
    return "httptools" if find_spec("httptools") is not None else "h11"


def serve(spec: Mapping[str, Any]) -> None:
    """The server process: the app ``spec`` names, under uvicorn, on the socket passed in."""
    if spec.get("cpu") is not None:
        os.sched_setaffinity(0, {spec["cpu"]})
    app = chain_app(spec) if spec["app"] == "chain" else throughput_app(spec["app"])
    config = uvicorn.Config(
        app,
        http=http_implementation(),
        loop="asyncio",
        access_log=False,
        log_level="warning",
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=spec["fd"])])


# --------------------------------------------------------------------------- processes


class ServerProcess:
    """An app under uvicorn in a child process, on a loopback socket bound here."""

    def __init__(self, spec: Mapping[str, Any], cpu: int | None) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(4096)  # room for a whole herd
        port = listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.name = str(spec["app"])
        payload = json.dumps({**spec, "fd": listener.fileno(), "cpu": cpu})
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", payload], pass_fds=[listener.fileno()]
        )
        listener.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.name} app exited ({self.process.returncode})")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/_stats", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} app did not start in {timeout:g} s")
            time.sleep(0.05)

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(self.url + "/_stats", timeout=10).json()
        return answer

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # uvicorn shuts down gracefully
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def servers(*specs: tuple[Mapping[str, Any], int | None]) -> Iterator[list[ServerProcess]]:
    """Start an app process for each (spec, cpu), all at once; stop them after."""
    started: list[ServerProcess] = []
    try:
        for spec, cpu in specs:
            started.append(ServerProcess(spec, cpu))
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


def cpu_plan() -> tuple[int | None, int | None]:
    """The servers' core and the load generator's: two different ones when there are."""
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None, None
    return usable[0], usable[1]


# --------------------------------------------------------------------------- 1. throughput

VARIANTS = {
    "bare": "bare Starlette app",
    "ungated": "un-gated route, middleware",
    "gated": "gated route, cache hit",
}
_PATHS = {"bare": "/members", "ungated": "/open", "gated": "/members"}


@dataclass
class WrkRun:
    """One ``wrk`` run against one variant."""

    variant: str
    round: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # connect, read, write and timeout errors
    non_2xx: int
    server_cpu: float  # the server's CPU use during the run, in cores
    wrk_cpu: float  # the load generator's
    cpu_us: float  # the server's CPU time per request, in µs


def run_wrk(
    server: ServerProcess,
    variant: str,
    round_: int,
    *,
    script: Path,
    duration: int,
    connections: int,
    cpu: int | None,
) -> WrkRun:
    pin = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
    command = [
        *pin,
        *("wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script)),
        *("-H", f"{USER_HEADER}: alice", server.url + _PATHS[variant]),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = server.cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    server_used = server.cpu_seconds() - server_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    requests, micros, connect, read, write, status, timeout, p50, p90, p99, worst = (
        int(x) for x in line.split()[1:]
    )
    return WrkRun(
        variant=variant,
        round=round_,
        requests=requests,
        seconds=micros / 1e6,
        rps=requests * 1e6 / micros,
        p50_ms=p50 / 1000,
        p90_ms=p90 / 1000,
        p99_ms=p99 / 1000,
        max_ms=worst / 1000,
        errors=connect + read + write + timeout,
        non_2xx=status,
        server_cpu=server_used / wall,
        wrk_cpu=wrk_used / wall,
        cpu_us=server_used * 1e6 / max(1, requests),
    )


def check_apps(bare: ServerProcess, ungated: ServerProcess, gated: ServerProcess) -> None:
    """Before timing: every variant answers as it should, and the gate really gates."""
    alice = {USER_HEADER: "alice", "accept": "application/json"}
    answer = httpx.get(bare.url + "/members", headers=alice)
    assert answer.status_code == 200, answer
    assert answer.text == "hello alice", answer.text
    answer = httpx.get(ungated.url + "/open", headers=alice)
    assert answer.status_code == 200, answer
    assert "cache-control" not in answer.headers, answer.headers
    for server in (ungated, gated):
        answer = httpx.get(server.url + "/members", headers=alice)
        assert answer.status_code == 200, answer
        assert answer.text == "hello alice", answer.text
        assert answer.headers["cache-control"] == "private, no-store", answer.headers
        nobody = httpx.get(server.url + "/members", headers={"accept": "application/json"})
        assert nobody.status_code == 401, nobody
        carol = httpx.get(server.url + "/members", headers={**alice, USER_HEADER: "carol"})
        assert carol.status_code == 403, carol


@dataclass
class Throughput:
    """Every recorded run, and the gated app's cache counters afterwards."""

    runs: list[WrkRun]
    cache: dict[str, int]
    settings: Settings
    cpus: tuple[int | None, int | None]

    def of(self, variant: str) -> list[WrkRun]:
        return [run for run in self.runs if run.variant == variant]

    def median(self, variant: str, metric: str) -> float:
        return statistics.median(float(getattr(run, metric)) for run in self.of(variant))

    def ratio(self, variant: str) -> float:
        """Median requests/s over the bare app's median: what the targets judge."""
        return self.median(variant, "rps") / self.median("bare", "rps")

    def paired(self, variant: str) -> float:
        """The median of each round's ratio (runs next to each other in time)."""
        pairs = zip(self.of(variant), self.of("bare"), strict=True)
        return statistics.median(run.rps / bare.rps for run, bare in pairs)

    def cpu_ratio(self, variant: str) -> float:
        """The bare app's CPU time per request over this variant's: the throughput ratio
        if each server had its core to itself (steadier when the machine is shared)."""
        return self.median("bare", "cpu_us") / self.median(variant, "cpu_us")

    def shared_core(self) -> bool:
        return any(self.median(v, "server_cpu") < BUSY_CORE for v in VARIANTS)


def bench_throughput(settings: Settings, log: Log) -> Throughput:
    server_cpu, wrk_cpu = cpu_plan()
    with (
        tempfile.TemporaryDirectory() as scratch,
        servers(
            ({"app": "bare"}, server_cpu),
            ({"app": "gate"}, server_cpu),
            ({"app": "gate"}, server_cpu),
        ) as (bare, ungated, gated),
    ):
        script = Path(scratch) / "report.lua"
        script.write_text(_WRK_REPORT)
        check_apps(bare, ungated, gated)
        by_variant = {"bare": bare, "ungated": ungated, "gated": gated}

        def run(variant: str, round_: int, duration: int) -> WrkRun:
            return run_wrk(
                by_variant[variant],
                variant,
                round_,
                script=script,
                duration=duration,
                connections=settings.connections,
                cpu=wrk_cpu,
            )

        if settings.warmup:
            for variant in VARIANTS:
                run(variant, -1, settings.warmup)
        runs: list[WrkRun] = []
        order = list(VARIANTS)
        for round_ in range(settings.rounds):
            for variant in order if round_ % 2 == 0 else reversed(order):
                done = run(variant, round_, settings.duration)
                log(
                    f"  round {round_ + 1}/{settings.rounds} {variant:8} {done.rps:7.0f} req/s"
                    f"  p50 {done.p50_ms:.2f} ms  p99 {done.p99_ms:.2f} ms"
                    f"  server {done.server_cpu:.2f} core, {done.cpu_us:.1f} µs/request"
                )
                runs.append(done)
        cache = gated.stats()["cache"]
    return Throughput(runs, cache, settings, (server_cpu, wrk_cpu))


# --------------------------------------------------------------------------- 2. herd


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
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def one(index: int) -> str:
            try:
                answer = await client.get(urls[index % len(urls)], headers=headers)
            except httpx.HTTPError as error:
                return type(error).__name__
            return str(answer.status_code)

        return await asyncio.gather(*(one(index) for index in range(count)))


def run_herd(
    sandbox: Any, apps: Sequence[ServerProcess], counts: list[int], cache: str, settings: Settings
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


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """A real ``redis-server`` on a free loopback port, as the tests start it
    (``tests/redis_server.py``); None when it is not installed."""
    if shutil.which("redis-server") is None:
        yield None
        return
    spec = importlib.util.spec_from_file_location("redis_server", ROOT / "tests/redis_server.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tempfile.TemporaryDirectory() as scratch, module.redis_server(Path(scratch)) as url:
        yield url


def bench_herd(settings: Settings, log: Log) -> list[Herd]:
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


# --------------------------------------------------------------------------- 3. memory

#: What is filled: (identity kind, store).
STORES = (("token", "cache"), ("user", "cache"), ("token", "dict"))


class JsonAnswers:
    """A source answering every holder with three balances parsed from JSON, as
    Tokenpass's answers are (new key strings and ints for each)."""

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        text = json.dumps({"TOKENLY": 2 * SAT, "LTBCOIN": 12_500 * SAT, "BITCRYSTALS": 7})
        answer: dict[str, int] = json.loads(text)
        return answer


def holder_of(kind: str, index: int) -> Holder:
    """The ``index``th identity: a login (a 40-hex token owned by a user) or a username."""
    if kind == "token":
        return Holder.token(f"{index:08x}" + "c0ffee" * 5 + "ab", owner=f"user{index:06d}")
    return Holder.user(f"user{index:06d}")


async def fill(kind: str, store: str, count: int) -> object:
    """``count`` identities in a ``CachedBalances``, each read through it (``cache``), or
    the same holders and read-only balances in a plain dict (``dict``, for reference)."""
    source = JsonAnswers()
    if store == "dict":
        kept: dict[Holder, Mapping[str, int]] = {}
        for index in range(count):
            holder = holder_of(kind, index)
            kept[holder] = MappingProxyType(dict(await source.balances(holder)))
        return kept
    cache = CachedBalances(source, ttl=3600.0, maxsize=count)
    for index in range(count):
        await cache.read(holder_of(kind, index))
    assert len(cache) == count, len(cache)
    assert cache.stats.upstream_calls == count, cache.stats
    return cache


def resident_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def probe_memory(spec: Mapping[str, Any]) -> dict[str, int]:
    """In a fresh process: bytes traced by ``tracemalloc`` for every store in turn, or
    (``rss``) the resident set's growth for one store."""
    count: int = spec["identities"]
    found: dict[str, int] = {}
    if spec["mode"] == "rss":
        gc.collect()
        before = resident_bytes()
        kept = asyncio.run(fill(spec["kind"], spec["store"], count))
        gc.collect()
        found[f"{spec['kind']} {spec['store']}"] = resident_bytes() - before
        del kept
        return found
    tracemalloc.start()
    for kind, store in STORES:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        kept = asyncio.run(fill(kind, store, count))
        gc.collect()
        found[f"{kind} {store}"] = tracemalloc.get_traced_memory()[0] - before
        del kept
    return found


def run_probe(spec: Mapping[str, Any]) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, __file__, "--memory-probe", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, int] = json.loads(done.stdout)
    return found


@dataclass
class Memory:
    kind: str
    store: str
    identities: int
    traced: int
    rss: int | None

    @property
    def traced_each(self) -> float:
        return self.traced / self.identities

    @property
    def rss_each(self) -> float | None:
        return None if self.rss is None else self.rss / self.identities


def bench_memory(settings: Settings, log: Log) -> list[Memory]:
    count = settings.identities
    traced = run_probe({"mode": "tracemalloc", "identities": count})
    rows = []
    for kind, store in STORES:
        rss = None
        if settings.rss:
            spec = {"mode": "rss", "identities": count, "kind": kind, "store": store}
            rss = run_probe(spec)[f"{kind} {store}"]
        row = Memory(kind, store, count, traced[f"{kind} {store}"], rss)
        rows.append(row)
        log(f"  {kind} {store}: {row.traced_each:.0f} B traced per identity")
    return rows


# --------------------------------------------------------------------------- report


@dataclass
class Target:
    label: str
    value: float
    target: str
    passed: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "MISS"

    @property
    def shown(self) -> str:
        return f"{self.value:.3f}" if isinstance(self.value, float) else str(self.value)


@dataclass
class Report:
    machine: dict[str, Any]
    settings: Settings
    throughput: Throughput | None = None
    herds: list[Herd] = field(default_factory=list)
    memory: list[Memory] = field(default_factory=list)
    elapsed: float = 0.0

    def targets(self) -> list[Target]:
        found = []
        if self.throughput is not None:
            for variant, goal in (("ungated", UNGATED_TARGET), ("gated", GATED_TARGET)):
                ratio = self.throughput.ratio(variant)
                label = f"{variant} / bare, median requests/s"
                found.append(Target(label, ratio, f">= {goal:.2f}", ratio >= goal))
        for herd in self.herds:
            label = f"herd: calls at the sandbox, {herd.cache} x{herd.instances}"
            found.append(Target(label, herd.sandbox_calls, f"== {HERD_TARGET}", herd.passed))
        return found

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "machine": self.machine,
            "settings": asdict(self.settings),
            "elapsed_s": self.elapsed,
            "targets": [asdict(t) | {"verdict": t.verdict} for t in self.targets()],
        }
        if self.throughput is not None:
            t = self.throughput
            metrics = ("rps", "p50_ms", "p99_ms", "cpu_us", "server_cpu", "wrk_cpu")
            answer["throughput"] = {
                "cpus": {"server": t.cpus[0], "wrk": t.cpus[1]},
                "gated_cache": t.cache,
                "shared_core": t.shared_core(),
                "medians": {v: {m: t.median(v, m) for m in metrics} for v in VARIANTS},
                "ratios": {v: t.ratio(v) for v in ("ungated", "gated")},
                "paired_ratios": {v: t.paired(v) for v in ("ungated", "gated")},
                "cpu_ratios": {v: t.cpu_ratio(v) for v in ("ungated", "gated")},
                "runs": [asdict(run) for run in t.runs],
            }
        answer["herds"] = [asdict(h) | {"passed": h.passed} for h in self.herds]
        answer["memory"] = [
            asdict(m) | {"traced_per_identity": m.traced_each, "rss_per_identity": m.rss_each}
            for m in self.memory
        ]
        return answer


def machine() -> dict[str, Any]:
    wrk = shutil.which("wrk")
    version = ""
    if wrk is not None:
        done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        version = (done.stdout or done.stderr).split(" [")[0].strip()
    return {
        "tca_gate": tca_gate.__version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "nproc": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "loadavg": os.getloadavg(),
        "uvicorn": uvicorn.__version__,
        "http": http_implementation(),
        "loop": "asyncio",
        "wrk": version,
    }


def _table(headers: Sequence[str], body: Sequence[Sequence[str]], indent: str = "  ") -> str:
    widths = [max(len(row[i]) for row in (headers, *body)) for i in range(len(headers))]
    lines = [indent + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append(indent + "  ".join("-" * w for w in widths))
    lines.extend(
        indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in body
    )
    return "\n".join(lines)


def render_throughput(t: Throughput) -> list[str]:
    s = t.settings
    server_cpu, wrk_cpu = t.cpus
    pinned = (
        f"servers on CPU {server_cpu}, wrk on CPU {wrk_cpu}"
        if server_cpu is not None
        else "nothing pinned (one CPU)"
    )
    out = [
        f"1. Throughput: wrk -t1 -c{s.connections} -d{s.duration}s, {pinned}; {s.rounds} rounds"
        " of the three in turn, medians.",
        f"   Identity: the {USER_HEADER} header; every app's endpoint reads it, and behind the"
        " gate its resolver too (header_identity).",
        "   ratio: req/s over the bare app's; paired: median of the rounds' ratios; cpu: the"
        " bare app's server",
        "   CPU time per request over the variant's. cores: the server's and wrk's CPU use.",
    ]
    body = []
    for variant, label in VARIANTS.items():
        bare = variant == "bare"
        body.append(
            [
                label,
                f"{t.median(variant, 'rps'):.0f}",
                f"{t.median(variant, 'p50_ms'):.2f} ms",
                f"{t.median(variant, 'p99_ms'):.2f} ms",
                f"{t.median(variant, 'cpu_us'):.1f} µs",
                f"{t.median(variant, 'server_cpu'):.2f}/{t.median(variant, 'wrk_cpu'):.2f}",
                "-" if bare else f"{t.ratio(variant):.3f}",
                "-" if bare else f"{t.paired(variant):.3f}",
                "-" if bare else f"{t.cpu_ratio(variant):.3f}",
            ]
        )
    headers = ["variant", "req/s", "p50", "p99", "cpu/req", "cores", "ratio", "paired", "cpu"]
    out.append(_table(headers, body))
    bad = sum(r.errors + r.non_2xx for r in t.runs)
    out.append(
        f"  socket errors and non-2xx answers: {bad}; the gated app's cache: {t.cache['hits']}"
        f" hits, {t.cache['misses']} misses, {t.cache['upstream_calls']} upstream calls"
    )
    if t.shared_core():
        out.append(
            f"  note: a server had under {BUSY_CORE} of its core in some runs (the machine is"
            " shared): the cpu ratio is the steadier figure"
        )
    return out


def render_herds(herds: Sequence[Herd]) -> list[str]:
    out = [
        f"2. {herds[0].requests} requests at once for one uncached identity: gate app -> cache"
        " -> TokenpassBalances -> sandbox.",
        f"   The sandbox holds its first balance answer back {herds[0].delay:g} s, so the herd"
        " arrives during the fetch;",
        "   misses: requests that waited for it. at sandbox: balance requests it received;"
        " sent: by the apps.",
    ]
    body = [
        [
            f"{h.cache}, {h.instances} process{'es' if h.instances > 1 else ''}",
            str(h.requests),
            " ".join(f"{k}:{v}" for k, v in sorted(h.statuses.items())),
            str(h.misses),
            str(h.hits),
            str(h.upstream_calls),
            str(h.sent),
            str(h.sandbox_calls),
            f"{h.seconds:.2f} s",
        ]
        for h in herds
    ]
    headers = ["cache", "requests", "statuses", "misses", "hits", "upstream_calls", "sent"]
    out.append(_table([*headers, "at sandbox", "time"], body))
    return out


def render_memory(rows: Sequence[Memory]) -> list[str]:
    out = [
        f"3. Memory for {rows[0].identities:,} cached identities, 3 balances each parsed from"
        " JSON, holders and balances",
        "   included: tracemalloc in one fresh process; RSS growth in one fresh process per row.",
    ]
    body = [
        [
            {"token": "login (token + owner)", "user": "username"}[m.kind],
            "CachedBalances" if m.store == "cache" else "plain dict (reference)",
            f"{m.traced / 2**20:.1f} MiB",
            f"{m.traced_each:.0f} B",
            "-" if m.rss is None else f"{m.rss / 2**20:.1f} MiB",
            "-" if m.rss_each is None else f"{m.rss_each:.0f} B",
        ]
        for m in rows
    ]
    out.append(_table(["identity", "store", "traced", "each", "RSS growth", "each"], body))
    return out


def render(report: Report) -> str:
    info = report.machine
    load = " ".join(f"{x:.2f}" for x in info["loadavg"])
    out = [
        f"tca-gate {info['tca_gate']} gate benchmark",
        f"  Python {info['python']} ({info['implementation']}), {info['platform']}",
        f"  nproc {info['nproc']}, {info['cpu_affinity']} usable, load average {load}",
        f"  uvicorn {info['uvicorn']} (http {info['http']}, loop {info['loop']}, one worker,"
        f" access log off); {info['wrk'] or 'no wrk'}",
    ]
    if report.throughput is not None:
        out += ["", *render_throughput(report.throughput)]
    if report.herds:
        out += ["", *render_herds(report.herds)]
    if report.memory:
        out += ["", *render_memory(report.memory)]
    targets = report.targets()
    body = [[t.label, t.shown, t.target, t.verdict] for t in targets]
    out += ["", "Targets", _table(["measure", "value", "target", "result"], body)]
    missed = sum(not t.passed for t in targets)
    out.append(
        f"{missed} of {len(targets)} targets missed"
        if missed
        else f"all {len(targets)} targets met"
    )
    out.append(f"run time {report.elapsed:.0f} s")
    return "\n".join(out)


# --------------------------------------------------------------------------- main

PARTS = ("throughput", "herd", "memory")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke check")
    parser.add_argument("--rounds", type=int, help=f"rounds of the three variants ({FULL.rounds})")
    parser.add_argument("--duration", type=int, help=f"seconds of each wrk run ({FULL.duration})")
    parser.add_argument(
        "--warmup", type=int, help=f"seconds of warm-up per variant ({FULL.warmup})"
    )
    parser.add_argument("--connections", type=int, help=f"wrk connections ({FULL.connections})")
    parser.add_argument("--herd", type=int, help=f"requests in the herd ({FULL.herd})")
    parser.add_argument(
        "--identities", type=int, help=f"identities cached for memory ({FULL.identities:,})"
    )
    parser.add_argument(
        "--only", action="append", choices=PARTS, help="run only this part (may be repeated)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # a server process
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)  # a memory probe process
    return parser.parse_args(argv)


def settings_of(args: argparse.Namespace) -> Settings:
    settings = QUICK if args.quick else FULL
    chosen = {
        name: getattr(args, name)
        for name in ("rounds", "duration", "warmup", "connections", "herd", "identities")
        if getattr(args, name) is not None
    }
    for name, value in chosen.items():
        if value < (0 if name == "warmup" else 1):
            raise SystemExit(f"--{name} must be at least {0 if name == 'warmup' else 1}")
    return replace(settings, **chosen)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.serve:
        serve(json.loads(args.serve))
        return 0
    if args.memory_probe:
        print(json.dumps(probe_memory(json.loads(args.memory_probe))))
        return 0
    settings = settings_of(args)
    parts = args.only or PARTS
    if "throughput" in parts and shutil.which("wrk") is None:
        print("wrk is not installed: run scripts/system-packages", file=sys.stderr)
        return 2

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    report = Report(machine(), settings)
    if "throughput" in parts:
        log("1. throughput")
        report.throughput = bench_throughput(settings, log)
    if "herd" in parts:
        log("2. herd")
        report.herds = bench_herd(settings, log)
    if "memory" in parts:
        log("3. memory")
        report.memory = bench_memory(settings, log)
    report.elapsed = time.perf_counter() - started
    print(json.dumps(report.as_json(), indent=2) if args.json else render(report))
    missed = any(not t.passed for t in report.targets())
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
