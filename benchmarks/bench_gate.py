#!/usr/bin/env python
"""Benchmark the gate over HTTP: throughput and latency, a thundering herd, cache memory.

Run ``python benchmarks/bench_gate.py`` from the repository root (``--quick`` for a
smoke run, ``--json`` for machine-readable output, ``--check`` to exit 1 when a target
is missed). One run measures, over loopback:

1. requests/s and p50/p99 latency (``wrk``) of a bare Starlette app, an un-gated
   route behind ``TcaGateMiddleware`` and a gated route on a cache hit, each app under
   uvicorn (one worker, access log off) in its own process pinned to one core, ``wrk``
   pinned to the other; the three are interleaved over rounds and the medians compared;
2. 1,000 concurrent requests for one uncached identity through the real chain
   (gate app -> ``CachedBalances`` -> ``TokenpassBalances`` -> ``SandboxServer``), and
   the same with ``RedisCachedBalances`` across two app processes sharing a real
   ``redis-server``: upstream calls counted by the caches and at the sandbox;
3. the memory 100,000 cached identities take in ``CachedBalances``.

See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
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
    BalanceSource,
    CachedBalances,
    Holder,
    RedisCachedBalances,
    StaticBalances,
    TokenpassBalances,
)
from tca_gate.gate import Gate, TcaGateMiddleware
from tca_gate.tokenpass import AsyncTokenpassClient

SAT = 100_000_000
ROOT = Path(__file__).resolve().parent.parent

#: The demo rule; alice passes it (TOKENLY), carol holds nothing.
RULE = "TOKENLY >= 1 or LTBCOIN >= 10000"
#: The header naming the user in the throughput apps (the cheap identity resolver).
USER_HEADER = "x-user"
#: The header carrying the OAuth token in the herd apps (the holder the cache keys on).
TOKEN_HEADER = "x-token"
#: The sandbox's endpoint for a token's public balances: what the herd must call once.
BALANCES_PATH = "/api/v1/tca/public/balances"

GATED_TARGET = 0.85
UNGATED_TARGET = 0.97
HERD_TARGET = 1

#: Full and quick settings; the command line overrides them one by one.
FULL = {
    "rounds": 5,
    "duration": 5.0,
    "warmup": 2.0,
    "connections": 32,
    "herd": 1000,
    "herd_delay": 2.0,
    "identities": 100_000,
}
QUICK = {
    "rounds": 1,
    "duration": 1.0,
    "warmup": 0.3,
    "connections": 16,
    "herd": 200,
    "herd_delay": 0.5,
    "identities": 10_000,
}

_WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH %d %d %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""

# --------------------------------------------------------------------------- the apps


def user_identity(conn: HTTPConnection) -> Holder | None:
    """The cheap identity resolver: the user the ``x-user`` header names."""
    name = conn.headers.get(USER_HEADER)
    return Holder.user(name) if name else None


def token_identity(conn: HTTPConnection) -> Holder | None:
    """The login's identity without the session: the ``x-token`` header's OAuth token,
    owned by the ``x-user`` header's user (as ``login_identity`` builds it)."""
    token = conn.headers.get(TOKEN_HEADER)
    if not token:
        return None
    return Holder.token(token, "public", owner=conn.headers.get(USER_HEADER) or None)


async def hello(request: Request) -> Response:
    """Every app's endpoint: greets the user the request names (the app's own identity
    work, the same in the bare app as behind the gate)."""
    return PlainTextResponse(f"hello {request.headers.get(USER_HEADER, 'stranger')}")


class CountingTransport(httpx.AsyncHTTPTransport):
    """An httpx transport counting the requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return await super().handle_async_request(request)


def throughput_app(kind: str) -> Starlette:
    """``bare``: /open and /members, no middleware. ``gate``: the same routes behind
    ``TcaGateMiddleware`` guarding /members, on an in-memory cache of static balances."""
    routes = [Route("/open", hello), Route("/members", hello)]
    if kind == "bare":
        routes.append(Route("/_stats", lambda _: JSONResponse({})))
        return Starlette(routes=routes)
    source = StaticBalances(
        {
            "users": {
                "alice": {"public": {"TOKENLY": 2 * SAT, "LTBCOIN": 12_500 * SAT}},
                "carol": {"public": {}},
            }
        }
    )
    # A TTL far past the run: every gated request after the first is a cache hit.
    cache = CachedBalances(source, ttl=3600.0)
    gate = Gate(cache, identity=user_identity)

    async def stats(_: Request) -> Response:
        return JSONResponse({"cache": asdict(cache.stats), "sent": 0})

    routes.append(Route("/_stats", stats))
    middleware = [Middleware(TcaGateMiddleware, gate=gate, rules={"/members": RULE})]
    return Starlette(routes=routes, middleware=middleware)


def chain_app(spec: Mapping[str, Any]) -> Starlette:
    """/members gated on the real chain: ``CachedBalances`` (or ``RedisCachedBalances``
    when ``spec`` names a Redis URL) -> ``TokenpassBalances`` -> the sandbox."""
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
    gate = Gate(cache, identity=token_identity)

    async def stats(_: Request) -> Response:
        return JSONResponse({"cache": asdict(cache.stats), "sent": transport.sent})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> Any:
        yield
        if isinstance(cache, RedisCachedBalances):
            await cache.aclose()
        await client.aclose()

    return Starlette(
        routes=[Route("/members", hello), Route("/_stats", stats)],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules={"/members": RULE})],
        lifespan=lifespan,
    )


def serve(spec: Mapping[str, Any]) -> None:
    """The server process: the app ``spec`` names, under uvicorn on the socket passed in."""
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
    listener = socket.socket(fileno=spec["fd"])
    uvicorn.Server(config).run(sockets=[listener])


def http_implementation() -> str:
    """uvicorn's ``httptools`` parser when installed, else ``h11``."""
    return "httptools" if find_spec("httptools") is not None else "h11"


# --------------------------------------------------------------------------- processes


class ServerProcess:
    """One app under uvicorn in a child process, on a loopback socket bound here."""

    def __init__(self, spec: Mapping[str, Any], cpu: int | None) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(4096)
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
                raise RuntimeError(f"the {self.name} server exited ({self.process.returncode})")
            try:
                if httpx.get(self.url + "/_stats", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} server did not start in {timeout:g} s")
            time.sleep(0.05)

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(self.url + "/_stats", timeout=10).json()
        return answer

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def servers(*specs: tuple[Mapping[str, Any], int | None]) -> Iterator[list[ServerProcess]]:
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
    """The server's core and the load generator's: two different ones when there are."""
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None, None
    return usable[0], usable[1]


# --------------------------------------------------------------------------- 1. throughput


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
    errors: int
    non_2xx: int
    server_cpu: float  # the server's CPU use, in cores, during the run
    wrk_cpu: float  # the load generator's
    cpu_us: float  # the server's CPU time per request, in µs


VARIANTS = {
    "bare": "bare Starlette app",
    "ungated": "un-gated route, behind TcaGateMiddleware",
    "gated": "gated route, cache hit",
}
_PATHS = {"bare": "/members", "ungated": "/open", "gated": "/members"}


def run_wrk(
    server: ServerProcess,
    variant: str,
    round_: int,
    *,
    script: Path,
    duration: float,
    connections: int,
    cpu: int | None,
) -> WrkRun:
    pin = ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []
    command = [
        *pin,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "-s",
        str(script),
        "-H",
        f"{USER_HEADER}: alice",
        server.url + _PATHS[variant],
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
    requests, micros, *errors, p50, p90, p99, worst = (int(x) for x in line.split()[1:])
    connect, read, write, status, timeout = errors
    seconds = micros / 1e6
    return WrkRun(
        variant=variant,
        round=round_,
        requests=requests,
        seconds=seconds,
        rps=requests / seconds,
        p50_ms=p50 / 1000,
        p90_ms=p90 / 1000,
        p99_ms=p99 / 1000,
        max_ms=worst / 1000,
        errors=connect + read + write + timeout,
        non_2xx=status,
        server_cpu=server_used / wall,
        wrk_cpu=wrk_used / wall,
        cpu_us=server_used * 1e6 / requests,
    )


def check_throughput_apps(bare: ServerProcess, ungated: ServerProcess, gated: ServerProcess) -> None:
    """Before timing: every variant answers as it should, and the gate really gates."""
    alice = {USER_HEADER: "alice", "accept": "application/json"}
    answer = httpx.get(bare.url + "/members", headers=alice)
    assert answer.status_code == 200 and answer.text == "hello alice", answer
    answer = httpx.get(ungated.url + "/open", headers=alice)
    assert answer.status_code == 200 and "no-store" not in answer.headers.get("cache-control", "")
    for server in (ungated, gated):
        answer = httpx.get(server.url + "/members", headers=alice)
        assert answer.status_code == 200 and answer.text == "hello alice", answer
        assert answer.headers["cache-control"] == "private, no-store", answer.headers
        nobody = httpx.get(server.url + "/members", headers={"accept": "application/json"})
        assert nobody.status_code == 401, nobody
        carol = httpx.get(server.url + "/members", headers={**alice, USER_HEADER: "carol"})
        assert carol.status_code == 403, carol


@dataclass
class Throughput:
    runs: list[WrkRun]
    cache: dict[str, int]
    connections: int
    duration: float
    rounds: int
    pinned: tuple[int | None, int | None]

    def of(self, variant: str) -> list[WrkRun]:
        return [run for run in self.runs if run.variant == variant]

    def median(self, variant: str, metric: str) -> float:
        return statistics.median(getattr(run, metric) for run in self.of(variant))

    def ratio(self, variant: str) -> float:
        return self.median(variant, "rps") / self.median("bare", "rps")

    def paired(self, variant: str) -> float:
        """The median over rounds of the round's ratio (neighbours in time)."""
        return statistics.median(
            run.rps / base.rps for run, base in zip(self.of(variant), self.of("bare"), strict=True)
        )


def bench_throughput(settings: Mapping[str, Any], log: Any) -> Throughput:
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
        check_throughput_apps(bare, ungated, gated)
        by_variant = {"bare": bare, "ungated": ungated, "gated": gated}
        options = {"script": script, "connections": settings["connections"], "cpu": wrk_cpu}
        for variant, server in by_variant.items():  # warm up, not recorded
            run_wrk(server, variant, -1, duration=settings["warmup"], **options)
        runs: list[WrkRun] = []
        order = list(by_variant)
        for round_ in range(settings["rounds"]):
            for variant in order if round_ % 2 == 0 else reversed(order):
                run = run_wrk(
                    by_variant[variant], variant, round_, duration=settings["duration"], **options
                )
                log(
                    f"  round {round_ + 1}/{settings['rounds']} {variant:8} "
                    f"{run.rps:8.0f} req/s  p50 {run.p50_ms:.2f} ms  p99 {run.p99_ms:.2f} ms"
                )
                runs.append(run)
        cache = gated.stats()["cache"]
    return Throughput(
        runs,
        cache,
        settings["connections"],
        settings["duration"],
        settings["rounds"],
        (server_cpu, wrk_cpu),
    )


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
    seconds: float
    sandbox_calls: int  # counted at the sandbox
    sent: int  # HTTP requests the apps' Tokenpass clients sent
    upstream_calls: int  # CacheStats.upstream_calls, summed over instances
    hits: int
    misses: int
    delay: float

    @property
    def passed(self) -> bool:
        return self.sandbox_calls == self.upstream_calls == HERD_TARGET and self.statuses == {
            "200": self.requests
        }


async def stampede(urls: Sequence[str], count: int, headers: Mapping[str, str]) -> list[str]:
    """``count`` GETs at once, spread over ``urls``; each answer's status (or error)."""
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
    sandbox: Any,
    apps: Sequence[ServerProcess],
    counts: list[int],
    *,
    cache: str,
    requests: int,
    delay: float,
) -> Herd:
    token = sandbox.access_token("alice", ["user", "tca"])
    before = counts[0]
    # The sandbox answers the first balance request after ``delay``: the whole herd
    # arrives while that one fetch is in flight.
    sandbox.inject_faults(200, 1, delay=delay, path_prefix=BALANCES_PATH)
    headers = {TOKEN_HEADER: token, USER_HEADER: "alice", "accept": "application/json"}
    started = time.perf_counter()
    answers = asyncio.run(stampede([app.url + "/members" for app in apps], requests, headers))
    seconds = time.perf_counter() - started
    sandbox.clear_faults()
    statuses: dict[str, int] = {}
    for answer in answers:
        statuses[answer] = statuses.get(answer, 0) + 1
    stats = [app.stats() for app in apps]
    return Herd(
        cache=cache,
        instances=len(apps),
        requests=requests,
        statuses=statuses,
        seconds=seconds,
        sandbox_calls=counts[0] - before,
        sent=sum(s["sent"] for s in stats),
        upstream_calls=sum(s["cache"]["upstream_calls"] for s in stats),
        hits=sum(s["cache"]["hits"] for s in stats),
        misses=sum(s["cache"]["misses"] for s in stats),
        delay=delay,
    )


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """A real ``redis-server`` on a free loopback port (tests/redis_server.py), or None
    when it is not installed."""
    if shutil.which("redis-server") is None:
        yield None
        return
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from redis_server import redis_server as start
    finally:
        sys.path.pop(0)
    with tempfile.TemporaryDirectory() as scratch, start(Path(scratch)) as url:
        yield url


def bench_herd(settings: Mapping[str, Any], log: Any) -> list[Herd]:
    from tca_gate.sandbox import SandboxServer

    server_cpu, _ = cpu_plan()
    herds: list[Herd] = []
    counts = [0]
    with SandboxServer() as sandbox:
        # Before its first request, so Starlette still takes middleware.
        sandbox.app.add_middleware(CountRequests, path=BALANCES_PATH, counts=counts)
        chain = {
            "app": "chain",
            "sandbox_url": sandbox.url,
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        }
        options = {"requests": settings["herd"], "delay": settings["herd_delay"]}
        with servers((chain, server_cpu)) as apps:
            herds.append(run_herd(sandbox, apps, counts, cache="CachedBalances", **options))
        log(f"  CachedBalances: {herds[-1].upstream_calls} upstream call(s)")
        with redis_server() as url:
            if url is None:
                log("  RedisCachedBalances: skipped (redis-server is not installed)")
                return herds
            shared = {**chain, "redis_url": url, "prefix": f"bench-{secrets.token_hex(4)}:"}
            with servers((shared, None), (shared, None)) as apps:
                herds.append(
                    run_herd(sandbox, apps, counts, cache="RedisCachedBalances", **options)
                )
            log(f"  RedisCachedBalances: {herds[-1].upstream_calls} upstream call(s)")
    return herds


# --------------------------------------------------------------------------- 3. memory


class JsonAnswers:
    """A source answering every holder with three balances parsed from JSON, as
    Tokenpass's would be (fresh key strings, ints)."""

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        text = json.dumps({"TOKENLY": 2 * SAT, "LTBCOIN": 12_500 * SAT, "BITCRYSTALS": 7})
        answer: dict[str, int] = json.loads(text)
        return answer


def holder_of(kind: str, index: int) -> Holder:
    """The ``index``th identity: a login (40-hex token owned by a user) or a username."""
    if kind == "token":
        return Holder.token(f"{index:08x}" + "c0ffee" * 5 + "ab", owner=f"user{index:06d}")
    return Holder.user(f"user{index:06d}")


def resident_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


async def fill(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Cache ``spec["identities"]`` identities (or, for ``dict``, keep the same holders and
    read-only balances in a plain dict) and measure what that took."""
    count, kind, mode = spec["identities"], spec["kind"], spec["mode"]
    source: BalanceSource = JsonAnswers()
    kept: Any
    gc.collect()
    if mode == "tracemalloc":
        tracemalloc.start()
    before_rss = resident_bytes()
    before_traced = tracemalloc.get_traced_memory()[0] if mode == "tracemalloc" else 0
    if spec["store"] == "dict":
        kept = {}
        for index in range(count):
            holder = holder_of(kind, index)
            kept[holder] = MappingProxyType(dict(await source.balances(holder)))
    else:
        kept = CachedBalances(source, ttl=3600.0, maxsize=count)
        for index in range(count):
            await kept.read(holder_of(kind, index))
        assert len(kept) == count and kept.stats.upstream_calls == count, kept.stats
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] - before_traced if mode == "tracemalloc" else 0
    grown = resident_bytes() - before_rss
    assert len(kept) == count
    return {"bytes": traced if mode == "tracemalloc" else grown}


@dataclass
class Memory:
    kind: str
    store: str
    identities: int
    traced: int
    rss: int

    @property
    def per_identity(self) -> float:
        return self.traced / self.identities

    @property
    def rss_per_identity(self) -> float:
        return self.rss / self.identities


def probe(spec: Mapping[str, Any]) -> int:
    """In a fresh process, so earlier work does not blur the figures."""
    done = subprocess.run(
        [sys.executable, __file__, "--memory-probe", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
    )
    found: int = json.loads(done.stdout)["bytes"]
    return found


def bench_memory(settings: Mapping[str, Any], log: Any) -> list[Memory]:
    rows = []
    count = settings["identities"]
    for kind, store in (("token", "cache"), ("user", "cache"), ("token", "dict")):
        spec = {"identities": count, "kind": kind, "store": store}
        traced = probe({**spec, "mode": "tracemalloc"})
        rss = probe({**spec, "mode": "rss"})
        rows.append(Memory(kind, store, count, traced, rss))
        log(f"  {kind} {store}: {traced / count:.0f} B traced, {rss / count:.0f} B RSS each")
    return rows


# --------------------------------------------------------------------------- report


@dataclass
class Target:
    label: str
    value: float
    target: str
    passed: bool


@dataclass
class Report:
    machine: dict[str, Any]
    settings: dict[str, Any]
    throughput: Throughput | None = None
    herds: list[Herd] = field(default_factory=list)
    memory: list[Memory] = field(default_factory=list)
    elapsed: float = 0.0

    def targets(self) -> list[Target]:
        found = []
        if self.throughput is not None:
            for variant, goal in (("ungated", UNGATED_TARGET), ("gated", GATED_TARGET)):
                ratio = self.throughput.ratio(variant)
                label = f"{variant} / bare requests/s"
                found.append(Target(label, ratio, f">= {goal:.2f}", ratio >= goal))
        for herd in self.herds:
            label = f"herd upstream calls, {herd.cache} x{herd.instances}"
            found.append(Target(label, herd.sandbox_calls, f"== {HERD_TARGET}", herd.passed))
        return found

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "machine": self.machine,
            "settings": self.settings,
            "elapsed_s": self.elapsed,
            "targets": [asdict(t) | {"verdict": verdict(t)} for t in self.targets()],
        }
        if self.throughput is not None:
            t = self.throughput
            answer["throughput"] = {
                "connections": t.connections,
                "duration_s": t.duration,
                "rounds": t.rounds,
                "cpus": {"server": t.pinned[0], "wrk": t.pinned[1]},
                "gated_cache": t.cache,
                "medians": {
                    variant: {
                        metric: t.median(variant, metric)
                        for metric in ("rps", "p50_ms", "p99_ms", "server_cpu", "wrk_cpu")
                    }
                    for variant in VARIANTS
                },
                "ratios": {v: t.ratio(v) for v in ("ungated", "gated")},
                "paired_ratios": {v: t.paired(v) for v in ("ungated", "gated")},
                "runs": [asdict(run) for run in t.runs],
            }
        answer["herds"] = [asdict(h) | {"passed": h.passed} for h in self.herds]
        answer["memory"] = [
            asdict(m) | {"traced_per_identity": m.per_identity, "rss_per_identity": m.rss_per_identity}
            for m in self.memory
        ]
        return answer


def verdict(target: Target) -> str:
    return "PASS" if target.passed else "MISS"


def machine() -> dict[str, Any]:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
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
        "wrk": (wrk.stdout or wrk.stderr).split(" [")[0].strip(),
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


def render(report: Report) -> str:
    info = report.machine
    out = [
        f"tca-gate {info['tca_gate']} gate benchmark",
        f"  Python {info['python']} ({info['implementation']}), {info['platform']}",
        f"  nproc {info['nproc']}, {info['cpu_affinity']} usable, load average "
        + " ".join(f"{x:.2f}" for x in info["loadavg"]),
        f"  uvicorn {info['uvicorn']} (http {info['http']}, loop {info['loop']}, one worker,"
        f" access log off), {info['wrk']}",
    ]
    t = report.throughput
    if t is not None:
        server_cpu, wrk_cpu = t.pinned
        pinning = (
            f"server on CPU {server_cpu}, wrk on CPU {wrk_cpu}"
            if server_cpu is not None
            else "not pinned (one CPU)"
        )
        out += [
            "",
            "1. Throughput and latency (wrk -t1 "
            f"-c{t.connections} -d{max(1, round(t.duration))}s; {pinning};",
            f"   {t.rounds} rounds, variants interleaved; medians over rounds; identity: the"
            f" {USER_HEADER} header,",
            "   read by the endpoint in every app and by the gate's resolver behind the gate)",
        ]
        body = []
        for variant, label in VARIANTS.items():
            ratio = "1.00" if variant == "bare" else f"{t.ratio(variant):.3f}"
            paired = "-" if variant == "bare" else f"{t.paired(variant):.3f}"
            runs = t.of(variant)
            body.append(
                [
                    label,
                    f"{t.median(variant, 'rps'):.0f}",
                    f"{min(r.rps for r in runs):.0f}-{max(r.rps for r in runs):.0f}",
                    f"{t.median(variant, 'p50_ms'):.2f} ms",
                    f"{t.median(variant, 'p99_ms'):.2f} ms",
                    ratio,
                    paired,
                    f"{t.median(variant, 'server_cpu'):.2f}/{t.median(variant, 'wrk_cpu'):.2f}",
                ]
            )
        out.append(
            _table(
                ["variant", "req/s", "range", "p50", "p99", "ratio", "paired", "cpu srv/wrk"],
                body,
            )
        )
        bad = sum(r.errors + r.non_2xx for r in t.runs)
        out.append(
            f"  socket errors + non-2xx answers: {bad}; gated cache: {t.cache['hits']} hits,"
            f" {t.cache['misses']} misses, {t.cache['upstream_calls']} upstream calls"
        )
    if report.herds:
        out += [
            "",
            "2. One uncached identity, all requests at once (gate app -> cache ->"
            " TokenpassBalances -> sandbox;",
            "   the sandbox holds its first balance answer back"
            f" {report.herds[0].delay:g} s so the herd arrives during the fetch)",
        ]
        body = [
            [
                f"{h.cache} x{h.instances} process{'es' if h.instances > 1 else ''}",
                str(h.requests),
                " ".join(f"{k}:{v}" for k, v in sorted(h.statuses.items())),
                str(h.sandbox_calls),
                str(h.sent),
                str(h.upstream_calls),
                f"{h.misses}/{h.hits}",
                f"{h.seconds:.2f} s",
            ]
            for h in report.herds
        ]
        out.append(
            _table(
                [
                    "cache",
                    "requests",
                    "statuses",
                    "at sandbox",
                    "sent",
                    "upstream_calls",
                    "misses/hits",
                    "time",
                ],
                body,
            )
        )
    if report.memory:
        count = report.memory[0].identities
        out += [
            "",
            f"3. Memory for {count:,} cached identities (3 balances each, parsed from JSON;"
            " tracemalloc in one",
            "   fresh process, RSS growth in another; holders and balances included)",
        ]
        body = [
            [
                {"token": "login (token + owner)", "user": "username"}[m.kind],
                "CachedBalances" if m.store == "cache" else "plain dict (reference)",
                f"{m.traced / 2**20:.1f} MiB",
                f"{m.per_identity:.0f} B",
                f"{m.rss / 2**20:.1f} MiB",
                f"{m.rss_per_identity:.0f} B",
            ]
            for m in report.memory
        ]
        out.append(
            _table(["identity", "store", "traced", "per identity", "RSS", "per identity"], body)
        )
    targets = report.targets()
    out += ["", "Targets"]
    out.append(
        _table(
            ["measure", "value", "target", "result"],
            [
                [
                    t_.label,
                    f"{t_.value:.3f}" if isinstance(t_.value, float) else str(t_.value),
                    t_.target,
                    verdict(t_),
                ]
                for t_ in targets
            ],
        )
    )
    missed = [t_ for t_ in targets if not t_.passed]
    out.append(
        f"{len(missed)} of {len(targets)} targets missed" if missed else f"all {len(targets)} targets met"
    )
    out.append(f"run time {report.elapsed:.0f} s")
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke check")
    parser.add_argument("--rounds", type=int, help="rounds of the three variants (full: 5)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (full: 5)")
    parser.add_argument("--connections", type=int, help="wrk connections (full: 32)")
    parser.add_argument("--herd", type=int, help="requests in the herd (full: 1000)")
    parser.add_argument("--identities", type=int, help="identities cached (full: 100000)")
    parser.add_argument(
        "--only",
        action="append",
        choices=["throughput", "herd", "memory"],
        help="run only this part (may be repeated)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.serve:
        serve(json.loads(args.serve))
        return 0
    if args.memory_probe:
        print(json.dumps(asyncio.run(fill(json.loads(args.memory_probe)))))
        return 0
    if shutil.which("wrk") is None and (not args.only or "throughput" in args.only):
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    settings = dict(QUICK if args.quick else FULL)
    for name in ("rounds", "duration", "connections", "herd", "identities"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    parts = args.only or ["throughput", "herd", "memory"]

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
