"""The real chain under faults, over loopback: the sandbox <- ``AsyncTokenpassClient`` <-
``TokenpassBalances`` <- ``CachedBalances`` or ``RedisCachedBalances`` <- a gated app
under uvicorn <- httpx2.

Injected: upstream timeouts, 5xx, 429 with ``Retry-After``, malformed answers, refused
connections and a Redis that dies mid-run. Every request gets a refusal (401, 403,
503) or, within the stale window only, the stale answer; none gets an allow it should
not; the app recovers when the upstream does. Fifty users at once never see each
other's decisions. A balance webhook answered by one worker while another is fetching
the same user's balances lets no request in on what it withdrew. The test client gives
every request 10 s: a gate hanging for the Tokenpass client's own retry budget (45 s)
would fail these tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tca_gate import InvalidArgumentError, sign_tokenly_request
from tca_gate.balances import CachedBalances, Holder, RedisCachedBalances, TokenpassBalances
from tca_gate.gate import BalanceWebhook, Gate, TcaGateMiddleware, header_identity
from tca_gate.sandbox import SandboxServer
from tca_gate.signing.bitcoin import address_from_private_key
from tca_gate.tokenpass import AsyncTokenpassClient
from tests.support.clocks import ManualClock
from tests.support.redis_server import free_port, redis_server
from tests.support.servers import serve

RULE = "TOKENLY >= 1 or LTBCOIN >= 10000"
USERS = 50
CLIENT_ID, CLIENT_SECRET = "gate-app", "gate-app-secret"
DENIALS = {401, 403, 503}


def username(number: int) -> str:
    return f"user{number:02d}"


def passes(number: int) -> bool:
    """User ``n`` holds 500·n LTBCOIN, and 1 TOKENLY when n % 7 == 3."""
    return number >= 20 or number % 7 == 3


def seed_text() -> str:
    lines = [
        "[[client]]",
        f'client_id = "{CLIENT_ID}"',
        f'client_secret = "{CLIENT_SECRET}"',
        'name = "The gated app"',
        'redirect_uris = ["http://127.0.0.1:9/callback"]',
    ]
    for number in range(USERS):
        address = address_from_private_key((7000 + number).to_bytes(32, "big"))
        tokenly = 1 if number % 7 == 3 else 0
        lines += [
            "[[user]]",
            f'username = "{username(number)}"',
            f'password = "password-{number}"',
            f'email = "{username(number)}@example.com"',
            "[[address]]",
            f'address = "{address}"',
            f'user = "{username(number)}"',
            "public = true",
            f"balances = {{ LTBCOIN = {500 * number}, TOKENLY = {tokenly} }}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seed") / "seed.toml"
    path.write_text(seed_text())
    return path


@pytest.fixture(scope="module")
def sandbox(seed: Path) -> Iterator[SandboxServer]:
    with SandboxServer(seed) as server:
        yield server


@pytest.fixture(autouse=True)
def no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").clear_faults()


def identify(conn: HTTPConnection) -> Holder | None:
    """``X-Token``: a Tokenpass OAuth token; ``X-User``: a username."""
    if "x-token" in conn.headers:
        return Holder.token(conn.headers["x-token"])
    name = conn.headers.get("x-user")
    return Holder.user(name) if name else None


Cache = CachedBalances | RedisCachedBalances


def gated_app(source: TokenpassBalances, cache: Cache, *, close_client: bool = False) -> Starlette:
    """``/members`` gated by ``RULE``; answers with the holder it judged and staleness.
    Its lifespan closes the cache and the source (and the client, if ``close_client``)."""

    async def members(request: Request) -> Response:
        verdict = request.state.tca_gate
        return JSONResponse({"holder": repr(verdict.holder), "stale": verdict.stale})

    async def stats(request: Request) -> Response:
        return JSONResponse({"upstream_calls": cache.stats.upstream_calls})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if isinstance(cache, RedisCachedBalances):
            await cache.aclose()
        await source.aclose()
        if close_client:
            await source.client.aclose()

    return Starlette(
        routes=[Route("/members", members), Route("/stats", stats)],
        middleware=[
            Middleware(
                TcaGateMiddleware, gate=Gate(cache, identity=identify), rules={"/members": RULE}
            )
        ],
        lifespan=lifespan,
    )


def make_cache(
    kind: str, source: TokenpassBalances, redis_url: str | None, **options: Any
) -> Cache:
    if kind == "memory":
        return CachedBalances(source, **options)
    assert redis_url is not None
    return RedisCachedBalances.from_url(
        source, redis_url, prefix=f"reliability-{uuid.uuid4().hex}:", **options
    )


def gate_source(url: str, deadline: float = 1.0) -> TokenpassBalances:
    return TokenpassBalances.for_gate(url, CLIENT_ID, CLIENT_SECRET, deadline=deadline)


Ask = tuple[str, str]  # ("x-user" or "x-token", value)


def ask_all(base_url: str, asks: list[Ask]) -> list[httpx2.Response]:
    """Every request at once; each gets 10 s."""

    async def go() -> list[httpx2.Response]:
        limits = httpx2.Limits(max_connections=200)
        async with httpx2.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
            return list(
                await asyncio.gather(
                    *(
                        client.get(
                            "/members", headers={header: value, "accept": "application/json"}
                        )
                        for header, value in asks
                    )
                )
            )

    return asyncio.run(go())


def by_name(*numbers: int) -> list[Ask]:
    return [("x-user", username(number)) for number in numbers]


def check_never_wrongly_allowed(asks: list[Ask], responses: list[httpx2.Response]) -> None:
    """An allow only for a user who passes, about that user; everything else a denial."""
    for (header, value), response in zip(asks, responses, strict=True):
        if response.status_code == 200:
            assert header == "x-user"
            assert passes(int(value.removeprefix("user"))), value
            assert response.json()["holder"] == repr(Holder.user(value))
        else:
            assert response.status_code in DENIALS, response.text


def statuses(responses: list[httpx2.Response]) -> list[int]:
    return [response.status_code for response in responses]


def expected_statuses(numbers: tuple[int, ...]) -> list[int]:
    return [200 if passes(number) else 403 for number in numbers]


CACHES = ["memory", "redis"]


@pytest.mark.parametrize("kind", CACHES)
def test_upstream_faults_are_refused_and_the_gate_recovers(
    kind: str, sandbox: SandboxServer, redis_url: str
) -> None:
    source = gate_source(sandbox.url)
    cache = make_cache(kind, source, redis_url, ttl=300.0)
    faults: list[tuple[str, Callable[[], None], tuple[int, ...]]] = [
        ("500", lambda: sandbox.inject_faults(500, count=200), (21, 4)),
        ("502", lambda: sandbox.inject_faults(502, count=200), (22, 5)),
        ("429", lambda: sandbox.inject_faults(429, count=200, retry_after=30), (23, 6)),
        ("slow", lambda: sandbox.inject_faults(200, count=200, delay=2.0), (24, 8)),
    ]
    with serve(gated_app(source, cache), lifespan=True) as url:
        healthy = (25, 1)
        assert statuses(ask_all(url, by_name(*healthy))) == [200, 403]
        for name, inject, numbers in faults:
            inject()
            asks = by_name(*numbers, *healthy)
            during = ask_all(url, asks)
            check_never_wrongly_allowed(asks, during)
            # new holders cannot be read: 503; holders fresh in the cache keep their answers
            assert statuses(during) == [503, 503, 200, 403], name
            assert during[0].headers["retry-after"] == "5"
            sandbox.clear_faults()
            after = ask_all(url, by_name(*numbers))
            assert statuses(after) == expected_statuses(numbers), name


def test_a_slow_tokenpass_behind_a_default_client_is_cut_at_the_deadline(
    sandbox: SandboxServer,
) -> None:
    client = AsyncTokenpassClient(sandbox.url, CLIENT_ID, CLIENT_SECRET)  # 45 s retry budget
    source = TokenpassBalances(client, deadline=1.0)
    sandbox.inject_faults(200, count=50, delay=3.0)
    with serve(gated_app(source, CachedBalances(source), close_client=True), lifespan=True) as url:
        asks = by_name(30, 31, 2)
        during = ask_all(url, asks)
        assert statuses(during) == [503, 503, 503]
        sandbox.clear_faults()
        assert statuses(ask_all(url, asks)) == [200, 200, 403]


@pytest.mark.parametrize("deadline", [0, -1.0, float("nan"), "2"])
def test_a_deadline_must_be_positive_seconds(deadline: Any) -> None:
    client = AsyncTokenpassClient("http://127.0.0.1:9", CLIENT_ID, CLIENT_SECRET)
    with pytest.raises(InvalidArgumentError, match="deadline must be seconds"):
        TokenpassBalances(client, deadline=deadline)
    with pytest.raises(InvalidArgumentError, match="deadline must be seconds"):
        TokenpassBalances.for_gate(
            "http://127.0.0.1:9", CLIENT_ID, CLIENT_SECRET, deadline=deadline
        )
    assert TokenpassBalances(client, deadline=None).deadline is None


GARBAGE = [
    (200, b"{not json"),
    (200, b""),
    (200, b"<html>maintenance</html>"),
    (200, b'{"result": "lots"}'),
    (200, b'[{"address": 1, "balances": {"LTBCOIN": "a lot"}}]'),
    (200, b'[{"address": "1A", "balances": {"LTBCOIN": -1e400}}]'),
    (500, b"{not json"),
]


def test_malformed_answers_are_refused(sandbox: SandboxServer) -> None:
    answer: list[tuple[int, bytes]] = []

    async def garbage(request: Request) -> Response:
        status, body = answer[0]
        return PlainTextResponse(body, status_code=status, media_type="application/json")

    liar = Starlette(routes=[Route("/{path:path}", garbage)])
    with serve(liar) as liar_url:
        source = gate_source(liar_url)
        with serve(gated_app(source, CachedBalances(source)), lifespan=True) as url:
            for number, (status, body) in enumerate(GARBAGE):
                answer[:] = [(status, body)]
                asks = [*by_name(20 + number, number), ("x-token", f"token-{number}")]
                responses = ask_all(url, asks)
                check_never_wrongly_allowed(asks, responses)
                assert statuses(responses) == [503, 503, 503], body


def test_refused_connections_are_refused_until_tokenpass_comes_back(seed: Path) -> None:
    port = free_port()
    source = gate_source(f"http://127.0.0.1:{port}")
    with serve(gated_app(source, CachedBalances(source)), lifespan=True) as url:
        asks = by_name(26, 27, 7, 9)
        assert statuses(ask_all(url, asks)) == [503] * 4
        with SandboxServer(seed, port=port):
            assert statuses(ask_all(url, asks)) == [200, 200, 403, 403]


@pytest.mark.parametrize("kind", CACHES)
def test_stale_answers_are_served_only_within_the_window(
    kind: str, sandbox: SandboxServer, redis_url: str
) -> None:
    clock = ManualClock(time.time())
    source = gate_source(sandbox.url)
    cache = make_cache(kind, source, redis_url, ttl=30.0, stale_for=60.0, clock=clock)
    with serve(gated_app(source, cache), lifespan=True) as url:
        warm = ask_all(url, by_name(28, 9))
        assert statuses(warm) == [200, 403]
        assert warm[0].json()["stale"] is False
        clock.now += 45  # past the TTL, within the stale window
        sandbox.inject_faults(503, count=500)
        asks = by_name(28, 9, 29)
        during = ask_all(url, asks)
        check_never_wrongly_allowed(asks, during)
        assert statuses(during) == [200, 403, 503]  # stale allow, stale refusal, unknown
        assert during[0].json()["stale"] is True
        clock.now += 50  # past the stale window
        late = ask_all(url, by_name(28, 9))
        assert statuses(late) == [503, 503]
        sandbox.clear_faults()
        recovered = ask_all(url, by_name(28, 9))
        assert statuses(recovered) == [200, 403]
        assert recovered[0].json()["stale"] is False


def test_a_redis_that_dies_mid_run_is_refused_and_the_gate_recovers(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    port = free_port()
    with contextlib.ExitStack() as first:
        redis_url = first.enter_context(redis_server(tmp_path / "first", port=port))
        source = gate_source(sandbox.url)
        cache = make_cache("redis", source, redis_url, ttl=300.0)
        with serve(gated_app(source, cache), lifespan=True) as url:
            numbers = tuple(range(USERS))
            assert statuses(ask_all(url, by_name(*numbers))) == expected_statuses(numbers)

            async def kill_mid_run() -> list[httpx2.Response]:
                async with httpx2.AsyncClient(base_url=url, timeout=10) as client:

                    async def one(number: int) -> httpx2.Response:
                        await asyncio.sleep(number * 0.005)
                        name = username(number % USERS)
                        return await client.get("/members", headers={"x-user": name})

                    requests = [asyncio.create_task(one(number)) for number in range(4 * USERS)]
                    await asyncio.sleep(0.2)
                    await asyncio.to_thread(first.close)  # redis-server is terminated
                    return list(await asyncio.gather(*requests))

            asks = by_name(*(number % USERS for number in range(4 * USERS)))
            responses = asyncio.run(kill_mid_run())
            check_never_wrongly_allowed(asks, responses)
            assert 503 in statuses(responses)  # Redis died while they were asked
            assert statuses(ask_all(url, by_name(*numbers))) == [503] * USERS
            with redis_server(tmp_path / "second", port=port):
                assert statuses(ask_all(url, by_name(*numbers))) == expected_statuses(numbers)


@pytest.mark.parametrize("kind", CACHES)
def test_many_users_at_once_never_see_each_others_decisions(
    kind: str, sandbox: SandboxServer, redis_url: str
) -> None:
    tokens = {
        number: sandbox.access_token(username(number), ["user", "tca"]) for number in (3, 12, 40)
    }
    source = gate_source(sandbox.url, deadline=5.0)
    cache = make_cache(kind, source, redis_url, ttl=300.0)
    asks: list[Ask] = []
    expected: list[tuple[int, str, int]] = []
    for _ in range(4):
        for number in range(USERS):
            asks.append(("x-user", username(number)))
            status = 200 if passes(number) else 403
            expected.append((status, repr(Holder.user(username(number))), number))
        for number, token in tokens.items():
            asks.append(("x-token", token))
            expected.append((200 if passes(number) else 403, repr(Holder.token(token)), number))
    with serve(gated_app(source, cache), lifespan=True) as url:
        responses = ask_all(url, asks)
        for response, (status, holder, number) in zip(responses, expected, strict=True):
            assert response.status_code == status, response.text
            if status == 200:
                assert response.json()["holder"] == holder
            else:  # the refusal speaks of this user's own holdings, no one else's
                held = {
                    clause["asset"]: int(clause["actual"])
                    for group in response.json()["decision"]["groups"]
                    for clause in group["clauses"]
                }
                assert held == {"TOKENLY": 0, "LTBCOIN": 500 * number * 100_000_000}
        upstream = httpx2.get(f"{url}/stats").json()["upstream_calls"]
    assert upstream == USERS + len(tokens)  # one call per holder however many asked


class HeldSource:
    """Bob's holdings as they are when asked; the first fetch is held (announced on
    ``asked``) until ``release`` is set, as a slow Tokenpass would be."""

    def __init__(self) -> None:
        self.held: dict[str, Mapping[str, int]] = {"bob": {"TOKENLY": 100_000_000}}
        self.asked = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        answer = dict(self.held[str(holder.value)])
        self.calls += 1
        if self.calls == 1:
            self.asked.set()
            await asyncio.to_thread(self.release.wait, 10)
        return answer


def hooked_worker(cache: RedisCachedBalances) -> Starlette:
    """One worker of an app: ``/members`` gated, the balance webhook; closes the cache."""

    async def members(request: Request) -> Response:
        return PlainTextResponse("welcome")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await cache.aclose()

    hook = BalanceWebhook(cache, api_token=CLIENT_ID, api_secret=CLIENT_SECRET)
    gate = Gate(cache, identity=header_identity("X-User"))
    return Starlette(
        routes=[Route("/members", members), Route("/hooks/balances", hook)],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules={"/members": RULE})],
        lifespan=lifespan,
    )


def test_no_request_is_let_in_on_balances_a_webhook_withdrew_mid_fetch(redis_url: str) -> None:
    """Worker one is fetching bob's balances (1 TOKENLY) when he sends the token away and
    the webhook reaches worker two: once it has answered, bob is refused everywhere,
    the request waiting on the withdrawn fetch included."""
    source = HeldSource()
    prefix = f"race-{uuid.uuid4().hex[:8]}:"
    caches = [RedisCachedBalances.from_url(source, redis_url, prefix=prefix) for _ in range(2)]
    bob = {"x-user": "bob"}
    with (
        serve(hooked_worker(caches[0]), lifespan=True) as one,
        serve(hooked_worker(caches[1]), lifespan=True) as two,
    ):
        with ThreadPoolExecutor(1) as pool:
            early = pool.submit(httpx2.get, f"{one}/members", headers=bob, timeout=20)
            assert source.asked.wait(10)
            source.held["bob"] = {}
            event = {"event": "balances.changed", "usernames": ["bob"]}
            url = f"{two}/hooks/balances"
            signed = sign_tokenly_request("POST", url, event, CLIENT_ID, CLIENT_SECRET)
            assert httpx2.post(url, json=event, headers=signed, timeout=10).status_code == 200
            source.release.set()
            assert early.result().status_code == 403
        assert httpx2.get(f"{one}/members", headers=bob).status_code == 403
        assert httpx2.get(f"{two}/members", headers=bob).status_code == 403
    assert source.calls == 2  # the withdrawn fetch, and the one after the webhook
