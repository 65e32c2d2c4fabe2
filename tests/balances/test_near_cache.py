"""The near cache of ``RedisCachedBalances`` (``near_ttl``) against a real redis-server:
hits without Redis, dropped by a change in any worker, nothing kept across a change or
while the feed is not live, one upstream call across workers, Redis down → 503 and back."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
import redis.asyncio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tca_gate import InvalidArgumentError
from tca_gate.balances import BalanceUnavailableError, Holder, RedisCachedBalances
from tca_gate.gate import Gate, TcaGateMiddleware, header_identity
from tests.support.caches import redis_caches, run, until
from tests.support.redis_server import free_port, redis_server

ALICE = Holder.user("alice")
BOB = Holder.user("bob")


class Source:
    """Answers ``held`` for a holder (``{"A": 1}`` by default), counting the calls; waits
    on ``gate`` when set, after announcing the call on ``asked``."""

    def __init__(self) -> None:
        self.calls: Counter[Holder] = Counter()
        self.held: dict[Holder, Mapping[str, int]] = {}
        self.gate: asyncio.Event | None = None
        self.asked = asyncio.Event()

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        self.calls[holder] += 1
        answer = dict(self.held.get(holder, {"A": 1}))
        self.asked.set()
        if self.gate is not None:
            await self.gate.wait()
        return answer


@pytest.fixture
def prefix() -> str:
    return f"near-{uuid.uuid4().hex[:12]}:"


@contextlib.asynccontextmanager
async def workers(
    url: str, source: Source, count: int = 1, **options: Any
) -> AsyncIterator[list[RedisCachedBalances]]:
    """``count`` caches with a near cache, each on its own client, their feeds live."""
    async with redis_caches(url, source, count, **{"near_ttl": 5.0, **options}) as made:
        for cache in made:
            assert await cache.changes.start()
        yield made


def test_a_near_hit_does_not_ask_redis(
    redis_url: str, redis_client: redis.Redis, prefix: str
) -> None:
    source = Source()

    async def scenario() -> None:
        async with workers(redis_url, source, prefix=prefix) as (cache,):
            assert cache.peek(ALICE) is None
            assert dict(await cache.balances(ALICE)) == {"A": 1}
            redis_client.delete(*redis_client.keys(f"{prefix}*"))  # behind the cache's back
            assert dict(cache.peek(ALICE) or {}) == {"A": 1}
            reading = await cache.read(ALICE)
            assert (dict(reading.balances), reading.stale) == ({"A": 1}, False)
            assert cache.stats.hits == 2
            assert cache.peek(ALICE.in_scope("protected")) is None  # scopes apart

    run(scenario)
    assert source.calls[ALICE] == 1


def test_near_answers_last_near_ttl_then_redis_is_asked(
    redis_url: str, redis_client: redis.Redis, prefix: str
) -> None:
    source = Source()

    async def scenario() -> None:
        async with workers(redis_url, source, prefix=prefix, near_ttl=0.2) as (cache,):
            await cache.balances(ALICE)
            redis_client.delete(*redis_client.keys(f"{prefix}balances:*"))
            source.held[ALICE] = {"A": 2}
            await asyncio.sleep(0.25)
            assert cache.peek(ALICE) is None
            assert dict(await cache.balances(ALICE)) == {"A": 2}

    run(scenario)


def test_a_forget_in_another_worker_drops_the_near_answers_it_concerns(
    redis_url: str, prefix: str
) -> None:
    source = Source()
    token = Holder.token("alice-token", owner="alice")
    pair = Holder.addresses(["1Alice", "1Shared"])

    async def scenario() -> None:
        async with workers(redis_url, source, 2, prefix=prefix) as (a, b):
            everyone = [ALICE, ALICE.in_scope("protected"), token, pair, BOB]
            for holder in everyone:
                await a.balances(holder)
            assert all(a.peek(holder) for holder in everyone)
            await b.forget(usernames=["ALICE"])
            await until(lambda: a.peek(ALICE) is None)
            assert [a.peek(h) is None for h in everyone] == [True, True, True, False, False]
            await b.forget(addresses=["1Shared"])
            await until(lambda: a.peek(pair) is None)
            await b.invalidate(BOB)
            await until(lambda: a.peek(BOB) is None)
            source.held[BOB] = {"A": 0}
            assert dict(await a.balances(BOB)) == {"A": 0}

    run(scenario)


def test_this_workers_forget_drops_its_near_answers_before_it_returns(
    redis_url: str, prefix: str
) -> None:
    source = Source()

    async def scenario() -> None:
        async with workers(redis_url, source, prefix=prefix) as (cache,):
            await cache.balances(ALICE)
            await cache.forget(usernames=["alice"])
            assert cache.peek(ALICE) is None
            await cache.balances(BOB)
            await cache.invalidate(BOB)
            assert cache.peek(BOB) is None

    run(scenario)


def test_an_answer_read_from_redis_before_a_forget_is_not_kept_near(
    redis_url: str, prefix: str
) -> None:
    """Worker a's read got the answer from Redis just before b's forget deleted it, and
    hears the forget before its read completes: it answers, but does not keep it."""
    source = Source()

    class Held(redis.asyncio.Redis):
        """A client whose MGET answers, then waits for ``release``."""

        looked = asyncio.Event()
        release = asyncio.Event()

        async def mget(self, *args: Any, **options: Any) -> Any:
            found = await super().mget(*args, **options)
            self.looked.set()
            await self.release.wait()
            return found

    async def scenario() -> None:
        async with workers(redis_url, source, prefix=prefix) as (b,):
            await b.balances(ALICE)  # in Redis now
            held = Held.from_url(redis_url)
            a = RedisCachedBalances(source, held, prefix=prefix, near_ttl=5.0)
            assert await a.changes.start()
            heard: list[object] = []
            a.changes.subscribe(heard.append)
            reading = asyncio.create_task(a.read(ALICE))
            await Held.looked.wait()
            await b.forget(usernames=["alice"])
            await until(lambda: bool(heard))
            Held.release.set()
            await reading
            assert a.peek(ALICE) is None
            await a.aclose()
            await held.aclose()

    run(scenario)


def test_a_fetch_withdrawn_while_under_way_is_not_kept_near(redis_url: str, prefix: str) -> None:
    source = Source()

    async def scenario() -> None:
        async with workers(redis_url, source, 2, prefix=prefix) as (a, b):
            source.gate = asyncio.Event()
            early = asyncio.create_task(a.balances(ALICE))
            await source.asked.wait()
            await b.forget(usernames=["alice"])
            source.held[ALICE] = {"A": 0}
            source.gate.set()
            assert dict(await early) == {"A": 0}  # fetched again, as without a near cache
            assert a.peek(ALICE) is None  # that look-up spanned a change: nothing kept
            assert dict(await a.balances(ALICE)) == {"A": 0}  # from Redis, kept now
            assert dict(a.peek(ALICE) or {}) == {"A": 0}

    run(scenario)
    assert source.calls[ALICE] == 2


def test_many_workers_with_near_caches_make_one_upstream_call(redis_url: str, prefix: str) -> None:
    source = Source()

    async def scenario() -> None:
        async with workers(redis_url, source, 3, prefix=prefix) as caches:
            source.gate = asyncio.Event()
            reads = [
                asyncio.create_task(cache.balances(ALICE)) for cache in caches for _ in range(50)
            ]
            await source.asked.wait()
            await asyncio.sleep(0.05)
            source.gate.set()
            assert [dict(answer) for answer in await asyncio.gather(*reads)] == [{"A": 1}] * 150
            assert all(cache.peek(ALICE) for cache in caches)

    run(scenario)
    assert source.calls[ALICE] == 1


def test_the_near_cache_keeps_at_most_near_maxsize_answers(redis_url: str, prefix: str) -> None:
    source = Source()
    holders = [Holder.user(f"user{n}") for n in range(5)]

    async def scenario() -> None:
        async with workers(redis_url, source, prefix=prefix, near_maxsize=3) as (cache,):
            for holder in holders:
                await cache.balances(holder)
            assert [cache.peek(h) is not None for h in holders] == [False, False, True, True, True]
            await cache.forget(usernames=["user3"])
            await cache.balances(holders[0])  # room made by the forget
            assert [cache.peek(h) is not None for h in holders] == [True, False, True, False, True]
            await cache.balances(holders[1])  # the oldest kept makes room
            assert [cache.peek(h) is not None for h in holders] == [True, True, False, False, True]

    run(scenario)


def test_redis_down_means_no_near_answers_and_503_then_both_come_back(tmp_path: Path) -> None:
    """Through the gate: allowed from the near cache; Redis dies, the feed is no longer
    live, the near answers go and the gate answers 503; Redis returns, all is well."""
    port, source = free_port(), Source()
    source.held[ALICE] = {"TOKENLY": 10**8}

    async def members(request: Request) -> Response:
        return PlainTextResponse("welcome")

    async def scenario() -> None:
        server = contextlib.ExitStack()
        url = server.enter_context(redis_server(tmp_path / "first", port=port))
        async with workers(url, source, prefix="down:", near_ttl=30.0) as (cache,):
            gate = Gate(cache, identity=header_identity("x-user"))
            app = Starlette(
                routes=[Route("/members", members)],
                middleware=[
                    Middleware(TcaGateMiddleware, gate=gate, rules={"/members": "TOKENLY >= 1"})
                ],
            )
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:

                async def status() -> int:
                    answer = await client.get("/members", headers={"x-user": "alice"})
                    return answer.status_code

                assert await status() == 200
                with redis.Redis.from_url(url) as behind_the_back:
                    behind_the_back.flushdb()
                misses = cache.stats.misses
                assert await status() == 200  # the near answer, through peek
                assert (cache.stats.misses, source.calls[ALICE]) == (misses, 1)
                server.close()
                await until(lambda: not cache.changes.live)
                assert cache.peek(ALICE) is None
                assert await status() == 503
                with pytest.raises(BalanceUnavailableError, match="Redis"):
                    await cache.read(ALICE)
                with redis_server(tmp_path / "second", port=port):
                    await until(lambda: cache.changes.live, within=10.0)
                    assert await status() == 200
                    assert cache.peek(ALICE) is not None

    run(scenario)


def test_nothing_is_kept_near_while_the_feed_is_not_live(
    redis_url: str, redis_client: redis.Redis, prefix: str
) -> None:
    """A worker whose Redis user may not SUBSCRIBE: its feed is never live, so every read
    asks Redis; and a cache closed (its feed stopped) serves nothing near either."""
    source = Source()
    user = f"deaf-{uuid.uuid4().hex[:8]}"
    redis_client.acl_setuser(
        user,
        enabled=True,
        nopass=True,
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-subscribe"],
    )

    async def scenario() -> None:
        deaf_url = redis_url.replace("redis://", f"redis://{user}@")
        deaf = RedisCachedBalances.from_url(
            source, deaf_url, prefix=prefix, near_ttl=5.0, redis_timeout=0.5
        )
        assert not await deaf.changes.start()
        for _ in range(3):
            assert dict(await deaf.balances(ALICE)) == {"A": 1}
            assert deaf.peek(ALICE) is None
        assert (deaf.stats.hits, deaf.stats.misses) == (2, 1)  # Redis hits, not near ones
        await deaf.aclose()
        async with workers(redis_url, source, prefix=prefix) as (cache,):
            await cache.balances(ALICE)
            assert cache.peek(ALICE) is not None
        assert cache.peek(ALICE) is None  # closed: the feed no longer hears

    try:
        run(scenario)
    finally:
        redis_client.acl_deluser(user)
    assert source.calls[ALICE] == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"near_ttl": 0.0}, "near_ttl must be seconds in"),
        ({"near_ttl": 31.0}, r"near_ttl must be seconds in \(0, 30\]"),
        ({"near_ttl": 61.0, "ttl": 120.0}, r"near_ttl must be seconds in \(0, 60\]"),
        ({"near_ttl": 1.0, "near_maxsize": 0}, "near_maxsize must be a positive int"),
    ],
)
def test_near_settings_out_of_bounds_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        RedisCachedBalances.from_url(Source(), "redis://127.0.0.1:1/0", **options)


def test_a_token_kept_near_without_its_owner_is_not_served_near_to_its_owner(
    redis_url: str, prefix: str
) -> None:
    """Kept near for a bearer token, an answer carries no mark of the owner the login
    names later: the owner's look-up goes to Redis, and what it keeps near is dropped by
    a forget of the owner in another worker."""
    source = Source()
    bearer = Holder.token("shared-oauth-token")
    login = Holder.token("shared-oauth-token", owner="carol")

    async def scenario() -> None:
        async with workers(redis_url, source, 2, prefix=prefix) as (a, b):
            await a.balances(bearer)
            assert dict(a.peek(bearer) or {}) == {"A": 1}
            source.held[bearer] = {"A": 2}
            assert a.peek(login) is None
            assert dict(await a.balances(login)) == {"A": 2}
            assert dict(a.peek(login) or {}) == {"A": 2}
            assert await b.forget(usernames=["carol"]) == 1
            await until(lambda: a.peek(login) is None)

    run(scenario)
