"""The Redis cache's change feed against a real redis-server: changes reach the other
workers (not twice this one), a forget whose change cannot be sent fails, and the feed is
live only while it hears the channel: lost with Redis, back (and saying so) after."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import redis.asyncio

from tca_gate.balances import (
    BalanceUnavailableError,
    Change,
    ChangeFeed,
    Holder,
    RedisCachedBalances,
    RedisChangeFeed,
)
from tests.support.caches import redis_caches, run, until
from tests.support.redis_server import free_port, redis_server

ALICE = Holder.user("alice")


class Source:
    async def balances(self, holder: Holder) -> Mapping[str, int]:
        return {"A": 1}


@contextlib.asynccontextmanager
async def workers(url: str, count: int, prefix: str) -> AsyncIterator[list[RedisCachedBalances]]:
    """``count`` caches on their own clients, as separate workers would have them."""
    async with redis_caches(url, Source(), count, prefix=prefix) as made:
        yield made


def test_a_change_in_one_worker_reaches_the_others_once_and_this_one_once(
    redis_url: str,
) -> None:
    prefix = f"{uuid.uuid4().hex}:"

    async def scenario() -> None:
        async with workers(redis_url, 3, prefix) as caches:
            heard: list[list[Change]] = [[] for _ in caches]
            for cache, seen in zip(caches, heard, strict=True):
                cache.changes.subscribe(seen.append)
                assert isinstance(cache.changes, ChangeFeed)
                assert await cache.changes.start()
            a, b, c = caches
            await a.read(ALICE)
            await b.forget(usernames=["Alice"])
            await until(lambda: all(heard))
            await c.invalidate(ALICE)
            await until(lambda: all(len(seen) == 2 for seen in heard))
            await asyncio.sleep(0.05)  # time for an echo, which must not come
            expected = [Change.of(usernames=["alice"]), Change.of(holders=[ALICE])]
            assert heard == [expected] * 3
            assert all(cache.changes.live for cache in caches)

    run(scenario)


def test_what_crosses_the_channel_is_digests_and_anything_unreadable_is_everything(
    redis_url: str, redis_client: redis.Redis
) -> None:
    prefix = f"{uuid.uuid4().hex}:"
    token = Holder.token("alice-secret-oauth-token", owner="alice")

    async def scenario() -> None:
        async with workers(redis_url, 2, prefix) as (a, b):
            heard: list[Change] = []
            a.changes.subscribe(heard.append)
            assert await a.changes.start()
            listening = redis_client.pubsub()
            listening.subscribe(f"{prefix}changes")
            await b.invalidate(token)
            await until(lambda: len(heard) == 1)
            redis_client.publish(f"{prefix}changes", b"not a change")
            redis_client.publish(f"{prefix}changes", b"\xff\xfe not even text")
            await until(lambda: len(heard) == 3)
            assert heard == [Change.of(holders=[token]), Change.EVERYTHING, Change.EVERYTHING]
            assert a.changes.live  # the same subscription: nothing made it reconnect
            sent = [
                message["data"]
                for message in iter(lambda: listening.get_message(timeout=1.0), None)
                if message["type"] == "message"
            ]
            listening.close()
            assert len(sent) == 3
            assert b"secret" not in sent[0]
            assert b"alice" not in sent[0].lower()
            assert Change.from_json(sent[0]) == Change.of(holders=[token])

    run(scenario)


def test_a_forget_whose_change_cannot_reach_the_other_workers_fails(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """A worker whose Redis user may not PUBLISH: its forget drops the answers but fails
    (a 503 to the webhook, which sends it again) instead of leaving others unaware."""
    prefix = f"{uuid.uuid4().hex}:"
    user = f"nopub-{uuid.uuid4().hex[:8]}"
    redis_client.acl_setuser(
        user, enabled=True, nopass=True, keys=["*"], channels=["*"], commands=["+@all", "-publish"]
    )
    url = redis_url.replace("redis://", f"redis://{user}@")

    async def scenario() -> None:
        async with workers(redis_url, 1, prefix) as (other,), workers(url, 1, prefix) as (mute,):
            heard: list[Change] = []
            other.changes.subscribe(heard.append)
            assert await other.changes.start()
            await mute.read(ALICE)
            with pytest.raises(BalanceUnavailableError, match="could not be sent"):
                await mute.forget(usernames=["alice"])
            with pytest.raises(BalanceUnavailableError, match="could not be sent"):
                await mute.invalidate(ALICE)
            assert not redis_client.keys(f"{prefix}balances:*")  # dropped all the same
            await asyncio.sleep(0.05)
            assert heard == []

    try:
        run(scenario)
    finally:
        redis_client.acl_deluser(user)


def test_the_feed_is_live_only_while_redis_is_there_and_says_so_both_ways(
    tmp_path: Path,
) -> None:
    port = free_port()

    async def scenario() -> None:
        server = contextlib.ExitStack()
        url = server.enter_context(redis_server(tmp_path / "first", port=port))
        async with workers(url, 2, "feed:") as (a, b):
            heard: list[Change] = []
            a.changes.subscribe(heard.append)
            assert not a.changes.live  # not yet subscribed
            assert await a.changes.start()
            server.close()  # redis-server is gone
            await until(lambda: not a.changes.live)
            assert heard == [Change.EVERYTHING]
            with redis_server(tmp_path / "second", port=port):
                await until(lambda: a.changes.live, within=10.0)
                assert heard == [Change.EVERYTHING, Change.EVERYTHING]
                await b.forget(usernames=["bob"])
                await until(lambda: len(heard) == 3)
                assert heard[-1] == Change.of(usernames=["bob"])
        assert not a.changes.live  # closed with the cache

    run(scenario)


def test_a_feed_that_cannot_subscribe_is_not_live_and_start_says_so() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"

    async def scenario() -> None:
        cache = RedisCachedBalances.from_url(Source(), url, redis_timeout=0.3)
        heard: list[Change] = []
        cache.changes.subscribe(heard.append)
        assert not await cache.changes.start()
        assert not cache.changes.live
        assert heard == []  # never live: nothing was trusted, nothing to withdraw
        await cache.aclose()

    run(scenario)


def test_a_feed_subscribed_outside_a_loop_starts_on_start_and_stops_with_the_cache(
    redis_url: str,
) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    cache = RedisCachedBalances(Source(), client, prefix=f"{uuid.uuid4().hex}:")
    heard: list[Change] = []
    cache.changes.subscribe(heard.append)  # no loop yet: nothing started
    assert not cache.changes.live

    async def scenario() -> None:
        assert await cache.changes.start()
        assert "live=True" in repr(cache.changes)
        await cache.aclose()
        assert not cache.changes.live
        assert heard == [Change.EVERYTHING]  # no longer hearing: trust nothing kept
        assert await client.ping()  # the caller's client stays open
        await client.aclose()

    run(scenario)


class FreezingProxy:
    """A TCP proxy on loopback to ``port`` that can stop passing bytes on without closing
    anything (``frozen``): a connection gone silent, as a dead peer behind NAT is."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.thawed = asyncio.Event()
        self.thawed.set()
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()
        self.thawed.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await asyncio.open_connection("127.0.0.1", self.port)
        pumps = [self._pump(reader, upstream[1]), self._pump(upstream[0], writer)]
        await asyncio.gather(*pumps, return_exceptions=True)
        for each in (writer, upstream[1]):
            each.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            await self.thawed.wait()
            writer.write(data)
            await writer.drain()
        writer.close()


def test_a_channel_gone_silent_is_found_within_about_a_heartbeat(redis_url: str) -> None:
    """No error, no closed socket: the bytes just stop. The PINGs find it out, the
    listeners are told, and the feed is live again once the bytes flow."""
    port = urlsplit(redis_url).port
    assert port is not None

    async def scenario() -> None:
        proxy = FreezingProxy(port)
        async with proxy as url:
            client = redis.asyncio.Redis.from_url(url)
            feed = RedisChangeFeed(client, "silent", heartbeat=0.2, redis_timeout=0.5)
            heard: list[Change] = []
            feed.subscribe(heard.append)
            assert await feed.start()
            proxy.thawed.clear()
            frozen = time.monotonic()
            await until(lambda: not feed.live)
            found = time.monotonic() - frozen
            assert heard == [Change.EVERYTHING]
            proxy.thawed.set()
            await until(lambda: feed.live)
            assert heard == [Change.EVERYTHING, Change.EVERYTHING]
            await feed.aclose()
            await client.aclose()
        print(f"\na silent channel was found {found:.2f} s after it went silent (heartbeat 0.2 s)")
        assert found < 5.0  # far above the heartbeat: only a feed that never noticed fails

    run(scenario)


def test_a_redis_user_that_may_not_subscribe_is_logged_once_naming_the_fix(
    redis_url: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """No SUBSCRIBE (an ACL, a proxy without pub/sub): the feed is never live and the near
    cache never keeps anything; one WARNING says why and what to grant, not one a retry."""
    user = f"nosub-{uuid.uuid4().hex[:8]}"
    redis_client.acl_setuser(
        user,
        enabled=True,
        nopass=True,
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-subscribe", "-psubscribe", "-ssubscribe"],
    )
    url = redis_url.replace("redis://", f"redis://{user}@")

    async def scenario() -> None:
        cache = RedisCachedBalances.from_url(Source(), url, redis_timeout=0.3, near_ttl=1.0)
        try:
            with caplog.at_level("WARNING", logger="tca_gate.balances"):
                assert not await cache.changes.start()
                await cache.read(ALICE)
                await asyncio.sleep(0.5)  # several more attempts to subscribe
            assert cache.peek(ALICE) is None
        finally:
            await cache.aclose()

    try:
        run(scenario)
    finally:
        redis_client.acl_deluser(user)
    warnings = [r.getMessage() for r in caplog.records if r.name == "tca_gate.balances"]
    assert len(warnings) == 1
    assert "cannot subscribe to 'tca-gate:changes' (NoPermissionError)" in warnings[0]
    assert "+subscribe +publish &tca-gate:changes" in warnings[0]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_feed_whose_loop_closed_is_not_live_and_listens_again_in_the_next_loop(
    redis_url: str,
) -> None:
    """Started in a loop closed without stopping it, the feed hears nothing: not live; in
    the next loop its listeners are told to trust nothing kept, and it hears again. (What
    the closed loop left, a pending task and its connection, complains when collected:
    collected here, not in a later test.)"""
    loops_one_after_another(redis_url)
    gc.collect()


def loops_one_after_another(redis_url: str) -> None:
    channel = f"{uuid.uuid4().hex}:changes"
    feed = RedisChangeFeed(redis.asyncio.Redis.from_url(redis_url), channel, redis_timeout=1.0)
    heard: list[Change] = []
    feed.subscribe(heard.append)
    first = asyncio.new_event_loop()
    assert first.run_until_complete(feed.start())
    first.close()
    assert not feed.live

    async def again() -> None:
        assert not feed.live
        assert await feed.start()
        assert heard
        assert set(heard) == {Change.EVERYTHING}
        heard.clear()
        sender = redis.asyncio.Redis.from_url(redis_url)
        await RedisChangeFeed(sender, channel).send(Change.of(usernames=["bob"]))
        await sender.aclose()
        await until(lambda: heard == [Change.of(usernames=["bob"])])

    run(again)
    assert not feed.live  # that loop is closed too
    assert run(feed.start)  # a third loop: started again, not an error
    run(feed.aclose)
    assert not feed.live


#: Many caches on one client, each read once and closed at once (no outer timeout: a
#: cancellation swallowed by redis-py's pub/sub read used to leave ``aclose`` waiting for
#: ever), then as many never closed, their feed tasks cancelled once, as ``asyncio.run``
#: does at exit. Prints how many of each did not end.
SHUTDOWN = """
import asyncio, sys
import redis.asyncio
from tca_gate.balances import Holder, RedisCachedBalances

class Source:
    async def balances(self, holder):
        return {"TOKENLY": 1}

async def main(url):
    client = redis.asyncio.Redis.from_url(url)
    for i in range(15):
        cache = RedisCachedBalances(Source(), client, prefix=f"shut-{i}:")
        await cache.balances(Holder.user(f"u{i}"))
        await cache.aclose()
    left = [RedisCachedBalances(Source(), client, prefix=f"left-{i}:") for i in range(15)]
    for i, cache in enumerate(left):
        await cache.balances(Holder.user(f"u{i}"))
    feeds = [task for task in asyncio.all_tasks() if task.get_name().startswith("change feed")]
    for task in feeds:
        task.cancel()
    _, pending = await asyncio.wait(feeds, timeout=5) if feeds else (set(), set())
    print("feeds", len(feeds), "pending", len(pending))

asyncio.run(main(sys.argv[1]))
"""


def test_closing_a_cache_right_after_its_first_read_never_hangs(redis_url: str) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", SHUTDOWN, redis_url],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["feeds", "15", "pending", "0"], finished.stdout
