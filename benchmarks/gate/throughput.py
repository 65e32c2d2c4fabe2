"""Part 1: requests/s and latency (``wrk``) of a bare app, an un-gated route behind the
middleware, a gated route on a cache hit, and the same with metrics on, taking turns over
rounds; medians compared."""

from __future__ import annotations

import contextlib
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from benchmarks.gate.harness import (
    RULE,
    SAT,
    USER_HEADER,
    Log,
    ServerProcess,
    Settings,
    cpu_plan,
    hello,
    servers,
)
from benchmarks.gate.redis_server import redis_server
from tca_gate.balances import CachedBalances, RedisCachedBalances, StaticBalances
from tca_gate.gate import Gate, TcaGateMiddleware, header_identity

GATED_TARGET = 0.85
UNGATED_TARGET = 0.97
#: The gated route with metrics on, over the same route with them off.
METRICS_TARGET = 0.95
#: Below this share of a core, the server was not alone on its core during a run.
BUSY_CORE = 0.9

VARIANTS = {
    "bare": "bare Starlette app",
    "ungated": "un-gated route, middleware",
    "gated": "gated route, cache hit",
    "metrics": "gated route, metrics on",
}
_PATHS = {"bare": "/members", "ungated": "/open", "gated": "/members", "metrics": "/members"}

# The Redis cache's variants (issue 15), run when redis-server is installed: the gated
# route on a cache hit with RedisCachedBalances, without and with its near cache.
NEAR_TARGET = 0.85
#: The near cache's TTL in the ``near`` variant, in seconds.
NEAR_TTL = 1.0
REDIS_VARIANTS = {
    "redis": "gated route, Redis cache hit",
    "near": "gated route, Redis + near cache",
}
_PATHS.update(redis="/members", near="/members")

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

#: The identity resolver behind the gate: the user the ``x-user`` header names, as an
#: authenticating proxy would pass it on (``tca_gate.gate.header_identity``).
user_identity = header_identity(USER_HEADER)


async def no_stats(_: Request) -> Response:
    return JSONResponse({})


def throughput_app(kind: str) -> Starlette:
    """``bare``: /open and /members, no middleware. ``gate``: the same routes, with
    ``TcaGateMiddleware`` guarding /members on an in-memory cache of static balances.
    ``metrics``: the gate app with ``tca_gate.metrics.Metrics`` installed, watching the
    cache, and serving ``/metrics``."""
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
    if kind == "metrics":
        from prometheus_client import CollectorRegistry

        from tca_gate.metrics import Metrics

        metrics = Metrics(CollectorRegistry()).install()
        metrics.watch(cache, name="static")
        routes.append(Route("/metrics", metrics.asgi()))
    return Starlette(
        routes=[*routes, Route("/_stats", stats)],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules={"/members": RULE})],
    )


def redis_throughput_app(spec: Mapping[str, Any]) -> Starlette:
    """``redis`` and ``near``: the ``gate`` app's routes and rule on a
    ``RedisCachedBalances`` of the same static balances, at ``spec``'s Redis URL (its
    own key prefix), ``near`` with a near cache of ``NEAR_TTL`` seconds."""
    holdings = {"alice": {"TOKENLY": 2 * SAT, "LTBCOIN": 12_500 * SAT}, "carol": {}}
    source = StaticBalances({"users": {n: {"public": b} for n, b in holdings.items()}})
    cache = RedisCachedBalances.from_url(
        source,
        spec["redis_url"],
        ttl=3600.0,
        prefix=f"bench-{spec['app']}:",
        near_ttl=NEAR_TTL if spec["app"] == "near" else None,
    )

    async def stats(_: Request) -> Response:
        return JSONResponse({"cache": asdict(cache.stats), "live": cache.changes.live})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await cache.aclose()

    gate = Gate(cache, identity=user_identity)
    return Starlette(
        routes=[Route("/open", hello), Route("/members", hello), Route("/_stats", stats)],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules={"/members": RULE})],
        lifespan=lifespan,
    )


def check_redis_apps(on_redis: Mapping[str, ServerProcess]) -> None:
    """Before timing: the Redis variants gate as the ``gated`` one does, and the near
    variant's change feed is live (else its near cache would serve nothing)."""
    alice = {USER_HEADER: "alice", "accept": "application/json"}
    for server in on_redis.values():
        answer = httpx2.get(server.url + "/members", headers=alice)
        assert (answer.status_code, answer.text) == (200, "hello alice"), answer
        assert answer.headers["cache-control"] == "private, no-store", answer.headers
        nobody = httpx2.get(server.url + "/members", headers={"accept": "application/json"})
        assert nobody.status_code == 401, nobody
        carol = httpx2.get(server.url + "/members", headers={**alice, USER_HEADER: "carol"})
        assert carol.status_code == 403, carol
    if "near" in on_redis:
        deadline = time.monotonic() + 10
        while not on_redis["near"].stats()["live"]:
            assert time.monotonic() < deadline, "the near variant's change feed is not live"
            time.sleep(0.05)


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


def check_apps(
    bare: ServerProcess, ungated: ServerProcess, gated: ServerProcess, metrics: ServerProcess
) -> None:
    """Before timing: every variant answers as it should, the gate really gates, and the
    metrics count what it decided."""
    alice = {USER_HEADER: "alice", "accept": "application/json"}
    answer = httpx2.get(bare.url + "/members", headers=alice)
    assert answer.status_code == 200, answer
    assert answer.text == "hello alice", answer.text
    answer = httpx2.get(ungated.url + "/open", headers=alice)
    assert answer.status_code == 200, answer
    assert "cache-control" not in answer.headers, answer.headers
    for server in (ungated, gated, metrics):
        answer = httpx2.get(server.url + "/members", headers=alice)
        assert answer.status_code == 200, answer
        assert answer.text == "hello alice", answer.text
        assert answer.headers["cache-control"] == "private, no-store", answer.headers
        nobody = httpx2.get(server.url + "/members", headers={"accept": "application/json"})
        assert nobody.status_code == 401, nobody
        carol = httpx2.get(server.url + "/members", headers={**alice, USER_HEADER: "carol"})
        assert carol.status_code == 403, carol
    counted = httpx2.get(metrics.url + "/metrics").text
    for outcome in ("allowed", "unauthenticated", "insufficient-tokens"):
        line = f'tca_gate_decisions_total{{outcome="{outcome}",rule="/members"}} 1.0'
        assert line in counted, counted


@dataclass
class Throughput:
    """Every recorded run, and the gated app's cache counters afterwards."""

    runs: list[WrkRun]
    cache: dict[str, int]
    settings: Settings
    cpus: tuple[int | None, int | None]
    #: The Redis variants' cache counters afterwards, by variant.
    redis_caches: dict[str, dict[str, int]] = field(default_factory=dict)

    def variants(self) -> dict[str, str]:
        """The variants run, with their labels, in order."""
        every = {**VARIANTS, **REDIS_VARIANTS}
        run = {r.variant for r in self.runs}
        return {variant: label for variant, label in every.items() if variant in run}

    def of(self, variant: str) -> list[WrkRun]:
        return [run for run in self.runs if run.variant == variant]

    def median(self, variant: str, metric: str) -> float:
        return statistics.median(float(getattr(run, metric)) for run in self.of(variant))

    def ratio(self, variant: str, base: str = "bare") -> float:
        """Median requests/s over the ``base`` variant's median: what the targets judge."""
        return self.median(variant, "rps") / self.median(base, "rps")

    def paired(self, variant: str, base: str = "bare") -> float:
        """The median of each round's ratio (runs next to each other in time)."""
        pairs = zip(self.of(variant), self.of(base), strict=True)
        return statistics.median(run.rps / other.rps for run, other in pairs)

    def cpu_ratio(self, variant: str, base: str = "bare") -> float:
        """The base's CPU time per request over this variant's: the throughput ratio if
        each server had its core to itself (steadier when the machine is shared)."""
        return self.median(base, "cpu_us") / self.median(variant, "cpu_us")

    def shared_core(self) -> bool:
        return any(self.median(v, "server_cpu") < BUSY_CORE for v in self.variants())


def bench_throughput(settings: Settings, log: Log) -> Throughput:
    server_cpu, wrk_cpu = cpu_plan()
    with (
        tempfile.TemporaryDirectory() as scratch,
        redis_server() as redis_url,
        servers(
            ({"app": "bare"}, server_cpu),
            ({"app": "gate"}, server_cpu),
            ({"app": "gate"}, server_cpu),
            ({"app": "metrics"}, server_cpu),
            *redis_specs(redis_url, server_cpu),
        ) as (bare, ungated, gated, metrics, *redis_apps),
    ):
        script = Path(scratch) / "report.lua"
        script.write_text(_WRK_REPORT)
        check_apps(bare, ungated, gated, metrics)
        by_variant = {"bare": bare, "ungated": ungated, "gated": gated, "metrics": metrics}
        on_redis = dict(zip(REDIS_VARIANTS, redis_apps, strict=False))
        check_redis_apps(on_redis)
        by_variant.update(on_redis)

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
            for variant in by_variant:
                run(variant, -1, settings.warmup)
        runs: list[WrkRun] = []
        order = list(by_variant)
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
        redis_caches = {variant: app.stats()["cache"] for variant, app in on_redis.items()}
    return Throughput(runs, cache, settings, (server_cpu, wrk_cpu), redis_caches)


def redis_specs(redis_url: str | None, cpu: int | None) -> list[tuple[dict[str, Any], int | None]]:
    """The Redis variants' server specs, on ``redis_url``; none without a redis-server."""
    if redis_url is None:
        return []
    return [({"app": variant, "redis_url": redis_url}, cpu) for variant in REDIS_VARIANTS]
