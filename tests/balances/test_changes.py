"""The changes a cache publishes: on ``forget``, ``invalidate``, ``clear`` and a refetch that
finds different balances (not the same ones), in memory and in Redis, named by digests only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping

import pytest
import redis

from tca_gate.balances import CachedBalances, Change, ChangeFeed, Holder, RedisCachedBalances
from tests.support.clocks import ManualClock

ALICE = Holder.user("alice")
TOKEN = Holder.token("alice-secret-oauth-token", owner="Alice")
PAIR = Holder.addresses(["1Alice", "1Shared"])


class Source:
    """Answers what ``held`` says for each holder (``{"A": 1}`` by default)."""

    def __init__(self) -> None:
        self.held: dict[Holder, Mapping[str, int]] = {}

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        return self.held.get(holder.in_scope("public"), {"A": 1})


def test_a_change_names_holders_by_digest_and_finds_them_in_every_form() -> None:
    change = Change.of(usernames=["ALICE"], addresses=["1Shared"])
    assert change.concerns(ALICE)
    assert change.concerns(TOKEN)
    assert change.concerns(PAIR)
    assert change.concerns(ALICE.in_scope("protected"))
    assert not change.concerns(Holder.user("bob"))
    assert not change.concerns(Holder.token("alice-secret-oauth-token"))  # owner unknown
    only_token = Change.of(holders=[TOKEN])
    assert only_token.concerns(Holder.token("alice-secret-oauth-token"))
    assert not only_token.concerns(ALICE)
    text = Change.of(holders=[TOKEN], usernames=["alice"]).to_json()
    assert "secret" not in text
    assert "alice" not in text.lower()
    assert "secret" not in repr(only_token)
    assert not Change()
    assert Change.EVERYTHING


@pytest.mark.parametrize("text", ["", "[]", '{"users": 3}', '{"users": []}', "nonsense"])
def test_a_change_that_cannot_be_read_is_everything(text: str) -> None:
    assert Change.from_json(text) is Change.EVERYTHING


def test_a_failing_listener_does_not_keep_the_others_from_hearing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed, heard = ChangeFeed(), list[Change]()

    def broken(change: Change) -> None:
        raise RuntimeError("boom")

    feed.subscribe(broken)
    feed.subscribe(heard.append)
    feed.publish(Change.of(usernames=["bob"]))
    assert len(heard) == 1
    assert "listener failed" in caplog.text


def test_the_memory_cache_publishes_what_it_withdraws() -> None:
    source, clock = Source(), ManualClock(1000.0)
    cache = CachedBalances(source, ttl=10.0, stale_for=20.0, clock=clock)
    heard: list[Change] = []
    cache.changes.subscribe(heard.append)

    async def run() -> None:
        await cache.read(ALICE)
        await cache.forget(usernames=["Alice"])
        assert heard[-1] == Change.of(usernames=["alice"])
        await cache.invalidate(TOKEN)
        assert heard[-1] == Change.of(holders=[TOKEN])
        await cache.read(ALICE)
        clock.now += 11.0
        await cache.read(ALICE)  # refetched after the TTL, the same: nothing said
        assert len(heard) == 2
        source.held[ALICE] = {"A": 0}
        clock.now += 11.0
        await cache.read(ALICE)  # refetched, different: said
        assert heard[-1] == Change.of(holders=[ALICE])
        cache.clear()
        assert heard[-1] is Change.EVERYTHING

    asyncio.run(run())


def test_the_redis_cache_publishes_what_it_withdraws(redis_url: str) -> None:
    source, clock = Source(), ManualClock(1_000_000.0)
    heard: list[Change] = []

    async def run() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        cache = RedisCachedBalances(
            source, client, ttl=10.0, stale_for=20.0, clock=clock, prefix=f"{uuid.uuid4()}:"
        )
        cache.changes.subscribe(heard.append)
        try:
            await cache.read(PAIR)
            await cache.forget(addresses=["1Shared"])
            assert heard[-1] == Change.of(addresses=["1Shared"])
            await cache.invalidate(TOKEN)
            assert heard[-1] == Change.of(holders=[TOKEN])
            await cache.read(ALICE)
            clock.now += 11.0
            await cache.read(ALICE)
            assert len(heard) == 2
            source.held[ALICE] = {"A": 0}
            clock.now += 11.0
            await cache.read(ALICE)
            assert heard[-1] == Change.of(holders=[ALICE])
        finally:
            await client.aclose()

    asyncio.run(run())
