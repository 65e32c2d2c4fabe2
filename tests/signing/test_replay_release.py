"""Giving a replay claim back (``release``), so a signed request whose work failed can be
sent again; and a store answer whose truth cannot be told is a store failure (503)."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis
import redis.asyncio

from tca_gate import AsyncRedisReplayStore, MemoryReplayStore, RedisReplayStore
from tca_gate.errors import ReplayStoreUnavailableError
from tca_gate.signing.replay import AsyncReplayStore, ReplayStore, claim, claim_now, release
from tests.support.redis_server import free_port

#: A replay key as the schemes make them: it carries the request's signature.
KEY = "tokenly:webhook-sender:1700000000:signature-never-logged-7f3a9c"


def test_the_memory_store_accepts_a_released_claim_again() -> None:
    store = MemoryReplayStore()
    assert store.claim(KEY, 60)
    assert not store.claim(KEY, 60)
    store.release(KEY)
    assert store.claim(KEY, 60)
    assert not store.claim(KEY, 60)
    store.release("never-claimed")  # nothing to forget: no error


def test_the_redis_store_deletes_only_its_own_prefixed_key(redis_client: redis.Redis) -> None:
    store, other = RedisReplayStore(redis_client), RedisReplayStore(redis_client, prefix="b:")
    assert store.claim(KEY, 60)
    assert other.claim(KEY, 60)
    store.release(KEY)
    assert redis_client.exists("tca-gate:replay:" + KEY) == 0
    assert redis_client.exists("b:" + KEY) == 1
    assert store.claim(KEY, 60)
    assert not other.claim(KEY, 60)


def test_the_async_redis_store_releases(redis_url: str) -> None:
    async def run() -> tuple[bool, bool, bool]:
        client = redis.asyncio.Redis.from_url(redis_url)
        await client.flushdb()
        store = AsyncRedisReplayStore(client)
        try:
            first = await store.claim(KEY, 60)
            replayed = await store.claim(KEY, 60)
            await store.release(KEY)
            return first, replayed, await store.claim(KEY, 60)
        finally:
            await client.aclose()

    assert asyncio.run(run()) == (True, False, True)


def test_release_gives_back_claims_in_sync_and_async_stores(redis_url: str) -> None:
    async def run() -> list[bool]:
        client = redis.asyncio.Redis.from_url(redis_url)
        await client.flushdb()
        stores: list[ReplayStore | AsyncReplayStore] = [
            MemoryReplayStore(),
            AsyncRedisReplayStore(client),
        ]
        try:
            again = []
            for store in stores:
                assert await claim(store, KEY, 60)
                await release(store, KEY)
                again.append(await claim(store, KEY, 60))
            return again
        finally:
            await client.aclose()

    assert asyncio.run(run()) == [True, True]


class ClaimOnly:
    """A store written before ``release`` existed: it can only claim."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def claim(self, key: str, ttl: float) -> bool:
        fresh = key not in self.keys
        self.keys.add(key)
        return fresh


def test_a_store_without_release_is_left_alone() -> None:
    store = ClaimOnly()
    assert store.claim(KEY, 60)
    asyncio.run(release(store, KEY))
    assert not store.claim(KEY, 60)


def test_a_store_that_cannot_release_is_logged_without_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = RedisReplayStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with caplog.at_level(logging.DEBUG):
            asyncio.run(release(store, KEY))
    finally:
        store.close()
    warnings = [r for r in caplog.records if r.name == "tca_gate.signing.replay"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "could not release" in warnings[0].getMessage()
    assert "ConnectionError" in warnings[0].getMessage()
    assert "signature-never-logged" not in caplog.text
    assert all(r.exc_info is None for r in caplog.records)


class Undecidable:
    """A store answer whose truth cannot be told (a client returning something odd)."""

    def __bool__(self) -> bool:
        raise ValueError("the truth value is ambiguous")


class OddStore:
    def claim(self, key: str, ttl: float) -> bool:
        return Undecidable()  # type: ignore[return-value]


class AsyncOddStore:
    async def claim(self, key: str, ttl: float) -> bool:
        return Undecidable()  # type: ignore[return-value]


@pytest.mark.parametrize("store", [OddStore(), AsyncOddStore()], ids=["sync", "async"])
def test_an_undecidable_answer_is_a_store_failure(store: OddStore | AsyncOddStore) -> None:
    with pytest.raises(ReplayStoreUnavailableError):
        asyncio.run(claim(store, KEY, 60))


def test_an_undecidable_answer_is_a_store_failure_without_awaiting() -> None:
    with pytest.raises(ReplayStoreUnavailableError):
        claim_now(OddStore(), KEY, 60)
