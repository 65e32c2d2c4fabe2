"""A replay claim whose reply is lost after Redis ran it: the client sends it again, and the
request's first delivery must still be accepted (once), on one Redis and on a Redis
Cluster, with the sync and the async store, through a loopback proxy that loses a reply."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import redis.asyncio

from tca_gate import AsyncRedisReplayStore, RedisReplayStore
from tests.support.redis_cluster import LoopbackCluster
from tests.support.redis_proxy import cluster_proxies, reply_proxy


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def key() -> str:
    return f"sender:1700000000:signature-{uuid.uuid4().hex}"


def test_an_async_claim_resent_after_a_lost_reply_is_still_the_first(redis_url: str) -> None:
    async def scenario() -> None:
        async with reply_proxy(port_of(redis_url)) as (proxy, port):
            store = AsyncRedisReplayStore.from_url(f"redis://127.0.0.1:{port}/0")
            try:
                first, control = key(), key()
                assert await store.claim(control, 60)
                proxy.lose_next = True
                assert await store.claim(first, 60)
                assert proxy.lost == 1
                assert not await store.claim(first, 60)  # a true replay is still refused
                assert not await store.claim(control, 60)
            finally:
                await store.aclose()

    asyncio.run(scenario())


def test_a_sync_claim_resent_after_a_lost_reply_is_still_the_first(redis_url: str) -> None:
    async def scenario() -> None:
        async with reply_proxy(port_of(redis_url)) as (proxy, port):
            store = RedisReplayStore.from_url(f"redis://127.0.0.1:{port}/0")
            try:
                first, control = key(), key()
                assert await asyncio.to_thread(store.claim, control, 60)  # connected
                proxy.lose_next = True
                assert await asyncio.to_thread(store.claim, first, 60)
                assert proxy.lost == 1
                assert not await asyncio.to_thread(store.claim, first, 60)
            finally:
                store.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("server", ["redis", "valkey"])
def test_claims_resent_after_a_lost_reply_on_a_cluster_are_still_the_first(
    request: pytest.FixtureRequest, server: str
) -> None:
    """Sync and async cluster clients, on Redis and Valkey (``SET NX GET`` is 7.0's)."""
    nodes: LoopbackCluster = request.getfixturevalue(
        "cluster" if server == "redis" else "valkey_cluster"
    )

    async def scenario() -> None:
        async with cluster_proxies(nodes.ports) as (proxies, remap):
            start: dict[str, Any] = {
                "host": "127.0.0.1",
                "port": nodes.ports[0],
                "address_remap": remap,
            }
            async_store = AsyncRedisReplayStore(redis.asyncio.RedisCluster(**start))
            # the sync client blocks: off the loop, which runs the proxies
            sync_store = RedisReplayStore(await asyncio.to_thread(redis.RedisCluster, **start))

            async def sync_claim(key: str, ttl: float) -> bool:
                return await asyncio.to_thread(sync_store.claim, key, ttl)

            try:
                for claiming in (async_store.claim, sync_claim):
                    first = key()
                    assert await claiming(key(), 60)  # the client knows the nodes now
                    lost = sum(proxy.lost for proxy in proxies)
                    for proxy in proxies:
                        proxy.lose_next = True
                    assert await claiming(first, 60)
                    assert sum(proxy.lost for proxy in proxies) == lost + 1
                    for proxy in proxies:
                        proxy.lose_next = False
                    assert not await claiming(first, 60)
            finally:
                await async_store.aclose()
                await asyncio.to_thread(sync_store.close)

    asyncio.run(scenario())
