"""``RedisCachedBalances`` when Redis runs a command but its reply never reaches the
client (a dropped connection, a reply past ``redis_timeout``), on one Redis and on a
Redis Cluster, through a loopback proxy that loses or holds the replies: the digests a
forget took are not lost with the reply, so the forget (or the webhook's retry of it)
still drops the answer; a fetch whose lock or settle is sent again knows its own."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import Mapping
from urllib.parse import urlsplit

import pytest
import redis.asyncio

from tca_gate.balances import BalanceUnavailableError, Change, Holder, RedisCachedBalances
from tca_gate.balances import _redis_scripts as scripts
from tests.support.clocks import ManualClock
from tests.support.redis_cluster import LoopbackCluster
from tests.support.redis_proxy import cluster_proxies, reply_proxy

ALICE = Holder.user("alice")
ALICE_TOKEN = Holder.token("alice-oauth-token", owner="alice")


class Source:
    """Answers ``held`` for every holder."""

    def __init__(self) -> None:
        self.held: Mapping[str, int] = {"TOKENLY": 100}

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        return dict(self.held)


@pytest.fixture
def prefix() -> str:
    return f"lost-{uuid.uuid4().hex[:12]}:"


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def test_a_forget_whose_reply_is_lost_and_resent_by_the_client_still_drops_the_answer(
    redis_url: str, prefix: str
) -> None:
    """``from_url``'s client sends a command again when the connection drops: the second
    take finds what the first one moved, so the forget drops the answer at once."""
    source = Source()

    async def scenario() -> None:
        async with reply_proxy(port_of(redis_url)) as (proxy, port):
            cache = RedisCachedBalances.from_url(
                source, f"redis://127.0.0.1:{port}/0", prefix=prefix, ttl=300.0
            )
            try:
                assert dict(await cache.balances(ALICE)) == {"TOKENLY": 100}
                await cache.balances(ALICE_TOKEN)
                source.held = {}
                proxy.lose_next = True
                assert await cache.forget(usernames=["alice"]) == 2
                assert proxy.lost == 1
                assert dict(await cache.balances(ALICE)) == {}
                assert dict(await cache.balances(ALICE_TOKEN)) == {}
            finally:
                await cache.aclose()

    asyncio.run(scenario())


def test_a_forget_that_timed_out_after_redis_took_the_index_is_finished_by_its_retry(
    redis_url: str, prefix: str
) -> None:
    """The replies are held past ``redis_timeout`` while Redis runs the take: the forget
    fails (the webhook's 503), and its retry still finds the holders and drops them."""
    source = Source()

    async def scenario() -> None:
        async with reply_proxy(port_of(redis_url)) as (proxy, port):
            client = redis.asyncio.Redis(port=port)
            cache = RedisCachedBalances(source, client, prefix=prefix, redis_timeout=0.3)
            try:
                await cache.balances(ALICE)
                source.held = {}
                proxy.passing.clear()
                with pytest.raises(BalanceUnavailableError, match="did not answer"):
                    await cache.forget(usernames=["alice"])
                await asyncio.sleep(0.1)
                proxy.passing.set()
                await client.connection_pool.disconnect()  # the held reply is stale
                assert await cache.forget(usernames=["alice"]) == 1
                assert dict(await cache.balances(ALICE)) == {}
                assert await client.keys(f"{prefix}*:taking") == []  # cleared once done
            finally:
                await cache.aclose()
                await client.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("server", ["redis", "valkey"])
def test_a_forget_whose_reply_is_lost_on_a_cluster_is_finished_by_its_retry(
    request: pytest.FixtureRequest, server: str, prefix: str
) -> None:
    """On a Redis Cluster (and a Valkey one) the index set and its taking hash share a
    slot, so the take is one step there too, and a lost reply loses no holder."""
    cluster: LoopbackCluster = request.getfixturevalue(
        "cluster" if server == "redis" else "valkey_cluster"
    )
    source = Source()

    async def scenario() -> None:
        async with cluster_proxies(cluster.ports) as (proxies, remap):
            client = redis.asyncio.RedisCluster(
                host="127.0.0.1",
                port=cluster.ports[0],
                address_remap=remap,
            )
            cache = RedisCachedBalances(source, client, prefix=prefix, redis_timeout=1.0)
            try:
                await cache.balances(ALICE)
                await cache.balances(ALICE_TOKEN)
                source.held = {}
                for proxy in proxies:
                    proxy.lose_next = True
                with contextlib.suppress(BalanceUnavailableError):
                    await cache.forget(usernames=["alice"])
                assert sum(proxy.lost for proxy in proxies) >= 1
                await cache.forget(usernames=["alice"])
                assert dict(await cache.balances(ALICE)) == {}
                assert dict(await cache.balances(ALICE_TOKEN)) == {}
            finally:
                await cache.aclose()
                await client.aclose()

    asyncio.run(scenario())


def sent(script: str) -> bytes:
    """What marks a request running ``script`` (its SHA-1, which EVALSHA names)."""
    return hashlib.sha1(script.encode()).hexdigest().encode()


def test_a_fetch_whose_lock_reply_is_lost_does_not_wait_on_its_own_lock(
    redis_url: str, prefix: str
) -> None:
    """The client sends the lock again; it finds the lock this fetch's own (its token)
    and fetches, rather than waiting out ``lock_timeout`` as behind another worker."""
    source = Source()

    async def scenario() -> None:
        async with reply_proxy(port_of(redis_url)) as (proxy, port):
            cache = RedisCachedBalances.from_url(
                source, f"redis://127.0.0.1:{port}/0", prefix=prefix, lock_timeout=30.0
            )
            try:
                await cache.balances(Holder.user("warm"))  # the scripts loaded
                proxy.lose_reply_to = sent(scripts.LOCK)
                async with asyncio.timeout(10.0):  # a third of lock_timeout
                    assert dict(await cache.balances(ALICE)) == {"TOKENLY": 100}
                assert proxy.lost == 1
                assert cache.stats.upstream_calls == 2
            finally:
                await cache.aclose()

    asyncio.run(scenario())


def test_a_fetch_whose_settle_reply_is_lost_knows_it_stored_its_answer(
    redis_url: str, prefix: str
) -> None:
    """The client sends the settle again; it finds the lock released, but the answer it
    stored still there, so the fetch serves it and tells of the new balances (an old
    answer, past its ``ttl``, said otherwise), as with the reply not lost."""
    source, clock = Source(), ManualClock(1_700_000_000.0)

    async def scenario() -> None:
        async with reply_proxy(port_of(redis_url)) as (proxy, port):
            cache = RedisCachedBalances.from_url(
                source, f"redis://127.0.0.1:{port}/0", prefix=prefix, ttl=30.0, clock=clock
            )
            heard: list[Change] = []
            try:
                assert dict(await cache.balances(ALICE)) == {"TOKENLY": 100}
                cache.changes.subscribe(heard.append)
                clock.now += 31.0
                source.held = {"TOKENLY": 50}
                proxy.lose_reply_to = sent(scripts.SETTLE)
                assert dict(await cache.balances(ALICE)) == {"TOKENLY": 50}
                assert proxy.lost == 1
                assert [change.concerns(ALICE) for change in heard] == [True]
            finally:
                await cache.aclose()

    asyncio.run(scenario())
