"""``RedisCachedBalances`` against a real redis-server: one upstream call for many workers,
the stale window, unknown holders, forgetting across workers, a Redis that dies and
comes back, and holders that never see each other's balances."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import redis

from tca_gate import InvalidArgumentError
from tca_gate.balances import (
    BalanceCache,
    BalanceUnavailableError,
    Holder,
    RedisCachedBalances,
    UnknownHolderError,
)
from tests.support.caches import redis_caches, run
from tests.support.clocks import ManualClock
from tests.support.redis_server import free_port, redis_server

ALICE_TOKEN = Holder.token("alice-secret-oauth-token", owner="alice")
ALICE = Holder.user("alice")
BOB = Holder.user("bob")
PAIR = Holder.addresses(["1Alice", "1Shared"])


class Source:
    """Answers ``{"A": n}`` (n: the calls for that holder so far, or ``held``), thread-safe;
    waits on ``gate`` when set, after announcing the call on ``asked``; fails with
    ``failure`` when set; unknown for holders named ``unknown``."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: Counter[Holder] = Counter()
        self.held: dict[Holder, Mapping[str, int]] = {}
        self.failure: BaseException | None = None
        self.gate: asyncio.Event | None = None
        self.asked = asyncio.Event()
        self._lock = threading.Lock()

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        with self._lock:
            self.calls[holder] += 1
            asked = self.calls[holder]
        self.asked.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        if holder.value == "unknown":
            raise UnknownHolderError("no such user")
        return self.held.get(holder, {"A": asked})


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}:"


def test_answers_are_kept_for_the_ttl_and_shared_by_every_worker(
    redis_url: str, prefix: str
) -> None:
    source, clock = Source(), ManualClock(1_700_000_000.0)

    async def scenario() -> None:
        async with redis_caches(redis_url, source, 2, prefix=prefix, clock=clock, ttl=30.0) as (
            a,
            b,
        ):
            assert dict(await a.balances(ALICE)) == {"A": 1}
            clock.now += 29.0
            reading = await b.read(ALICE)
            assert (dict(reading.balances), reading.stale, reading.age) == ({"A": 1}, False, 29.0)
            clock.now += 1.0
            assert dict(await b.balances(ALICE)) == {"A": 2}
            assert dict(await a.balances(ALICE)) == {"A": 2}
            assert (a.stats.hits, a.stats.misses, a.stats.upstream_calls) == (1, 1, 1)
            assert (b.stats.hits, b.stats.misses, b.stats.upstream_calls) == (1, 1, 1)

    run(scenario)
    assert source.calls[ALICE] == 2


def test_many_workers_missing_one_key_make_one_upstream_call(redis_url: str, prefix: str) -> None:
    source = Source(delay=0.05)

    async def scenario() -> list[Mapping[str, int]]:
        async with redis_caches(redis_url, source, 3, prefix=prefix) as workers:
            reads = [worker.balances(ALICE_TOKEN) for worker in workers for _ in range(200)]
            answers = await asyncio.gather(*reads)
            assert sum(worker.stats.upstream_calls for worker in workers) == 1
            assert sum(worker.stats.misses for worker in workers) == 600
            return answers

    answers = run(scenario)
    assert [dict(answer) for answer in answers] == [{"A": 1}] * 600
    assert source.calls[ALICE_TOKEN] == 1


def test_workers_on_separate_threads_and_loops_make_one_upstream_call(
    redis_url: str, prefix: str
) -> None:
    source = Source(delay=0.05)
    start = threading.Barrier(2)
    answers: list[list[dict[str, int]]] = []

    def worker() -> None:
        async def scenario() -> list[dict[str, int]]:
            async with redis_caches(redis_url, source, prefix=prefix) as (cache,):
                start.wait()
                found = await asyncio.gather(*(cache.balances(BOB) for _ in range(200)))
                return [dict(answer) for answer in found]

        answers.append(run(scenario))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [[{"A": 1}] * 200] * 2
    assert source.calls[BOB] == 1


def test_cancelled_readers_leave_the_fetch_to_finish_and_fill_the_cache(
    redis_url: str, prefix: str
) -> None:
    source = Source()

    async def scenario() -> None:
        async with redis_caches(redis_url, source, prefix=prefix) as (cache,):
            source.gate = asyncio.Event()
            readers = [asyncio.create_task(cache.balances(ALICE)) for _ in range(5)]
            await source.asked.wait()
            for reader in readers:
                reader.cancel()
            source.gate.set()
            assert all(
                isinstance(answer, asyncio.CancelledError)
                for answer in await asyncio.gather(*readers, return_exceptions=True)
            )
            for _ in range(100):  # the shielded fetch goes on and stores its answer
                if await cache.balances(ALICE) and cache.stats.hits:
                    break
                await asyncio.sleep(0.01)
            assert cache.stats.hits >= 1

    run(scenario)
    assert source.calls[ALICE] == 1


def test_stale_answers_only_within_the_window_and_only_when_the_source_fails(
    redis_url: str, prefix: str
) -> None:
    source, clock = Source(), ManualClock(1_700_000_000.0)

    async def scenario() -> None:
        options = {"prefix": prefix, "clock": clock, "ttl": 10.0, "stale_for": 20.0}
        async with redis_caches(redis_url, source, 2, **options) as (a, b):
            await a.balances(ALICE)
            clock.now += 15.0
            source.failure = BalanceUnavailableError("Tokenpass is down")
            reading = await b.read(ALICE)
            assert (dict(reading.balances), reading.stale, reading.age) == ({"A": 1}, True, 15.0)
            assert b.stats.stale_served == 1
            clock.now += 15.0  # 30 s old: past the window
            with pytest.raises(BalanceUnavailableError, match="Tokenpass is down"):
                await a.read(ALICE)
            source.failure = None
            assert dict(await a.balances(ALICE)) == {"A": 4}  # the error was not cached
            source.failure = BalanceUnavailableError("down again")
            clock.now += 30.0
            async with redis_caches(redis_url, source, prefix=prefix, clock=clock) as (c,):
                with pytest.raises(BalanceUnavailableError, match="down again"):  # no window
                    await c.read(ALICE)

    run(scenario)


def test_a_worker_waiting_on_a_failed_fetch_gets_the_failure_not_a_second_call(
    redis_url: str, prefix: str
) -> None:
    import redis.asyncio

    source = Source()

    class Watched(redis.asyncio.Redis):
        """A client that says when it has looked at the answer and the lock."""

        looked = asyncio.Event()

        async def mget(self, *args: Any, **options: Any) -> Any:
            found = await super().mget(*args, **options)
            self.looked.set()
            return found

    async def scenario() -> None:
        watched = Watched.from_url(redis_url)
        async with redis_caches(redis_url, source, prefix=prefix) as (a,):
            b = RedisCachedBalances(source, watched, prefix=prefix)
            source.gate = asyncio.Event()
            source.failure = BalanceUnavailableError("Tokenpass answered 503")
            first = asyncio.create_task(a.balances(BOB))
            await source.asked.wait()
            second = asyncio.create_task(b.balances(BOB))
            await Watched.looked.wait()  # b has seen the lock a holds, and waits
            source.gate.set()
            for reader in (first, second):
                with pytest.raises(BalanceUnavailableError, match="answered 503"):
                    await reader
        await watched.aclose()

    run(scenario)
    assert source.calls[BOB] == 1


def test_unknown_holders_are_remembered_briefly_and_never_served_stale(
    redis_url: str, prefix: str
) -> None:
    source, clock = Source(), ManualClock(1_700_000_000.0)
    unknown = Holder.user("unknown")

    async def scenario() -> None:
        options = {"prefix": prefix, "clock": clock, "negative_ttl": 5.0, "stale_for": 60.0}
        async with redis_caches(redis_url, source, 2, **options) as (a, b):
            for cache in (a, b, a):
                with pytest.raises(UnknownHolderError, match="no such user"):
                    await cache.balances(unknown)
            assert source.calls[unknown] == 1
            assert b.stats.hits == 1
            clock.now += 5.0
            with pytest.raises(UnknownHolderError):
                await b.balances(unknown)
            assert source.calls[unknown] == 2
            # a known holder gone unknown is not served its old balances
            await a.balances(BOB)
            clock.now += 40.0
            source.failure = UnknownHolderError("token revoked")
            with pytest.raises(UnknownHolderError, match="token revoked"):
                await b.read(BOB)
            source.failure = BalanceUnavailableError("down")
            with pytest.raises(UnknownHolderError, match="token revoked"):
                await a.read(BOB)  # still the remembered refusal

    run(scenario)


def test_without_negative_caching_an_unknown_holder_is_asked_every_time(
    redis_url: str, prefix: str
) -> None:
    source = Source()
    unknown = Holder.user("unknown")

    async def scenario() -> None:
        async with redis_caches(redis_url, source, prefix=prefix, negative_ttl=0.0) as (cache,):
            for _ in range(3):
                with pytest.raises(UnknownHolderError):
                    await cache.balances(unknown)

    run(scenario)
    assert source.calls[unknown] == 3


def test_forgetting_in_one_worker_drops_the_answers_for_every_worker(
    redis_url: str, prefix: str
) -> None:
    source = Source()
    everyone = [ALICE_TOKEN, ALICE_TOKEN.in_scope("protected"), ALICE, BOB, PAIR]

    async def scenario() -> None:
        async with redis_caches(redis_url, source, 2, prefix=prefix) as (a, b):
            for holder in everyone:
                await a.balances(holder)
            assert await b.forget(usernames=["ALICE"]) == 3
            assert await b.forget(usernames=["alice"]) == 0
            for holder in everyone:
                await a.balances(holder)
            assert await a.forget(addresses=["1Shared"], usernames=["carol"]) == 1
            for holder in everyone:
                await b.balances(holder)
            assert await b.invalidate(BOB) == 1
            await a.balances(BOB)

    run(scenario)
    assert source.calls == Counter(
        {
            ALICE_TOKEN: 2,
            ALICE_TOKEN.in_scope("protected"): 2,
            ALICE: 2,
            BOB: 2,
            PAIR: 2,
        }
    )


def test_a_fetch_under_way_in_another_worker_when_forgotten_is_neither_stored_nor_served(
    redis_url: str, prefix: str
) -> None:
    """The webhook's ``forget`` lands in worker b while worker a's fetch is provably in
    flight (held on an event): a's readers never get the answer fetched before it."""

    class Snapshot(Source):
        """Reads the holdings when asked, then waits: an answer older than the forget."""

        async def balances(self, holder: Holder) -> Mapping[str, int]:
            answer = dict(self.held[holder])
            await super().balances(holder)
            return answer

    source = Snapshot()

    async def scenario() -> None:
        async with redis_caches(redis_url, source, 2, prefix=prefix) as (a, b):
            source.held[ALICE_TOKEN] = {"A": 100}  # what a's fetch reads: about to be withdrawn
            source.gate = asyncio.Event()
            early = [asyncio.create_task(a.balances(ALICE_TOKEN)) for _ in range(3)]
            await source.asked.wait()
            assert source.calls[ALICE_TOKEN] == 1
            assert await b.forget(usernames=["alice"]) == 0  # nothing stored yet
            source.held[ALICE_TOKEN] = {"A": 0}  # the withdrawal the webhook announced
            source.gate.set()
            assert [dict(answer) for answer in await asyncio.gather(*early)] == [{"A": 0}] * 3
            source.gate = None
            assert dict(await b.balances(ALICE_TOKEN)) == {"A": 0}
            assert dict(await a.balances(ALICE_TOKEN)) == {"A": 0}

    run(scenario)
    assert source.calls[ALICE_TOKEN] == 2


def test_a_stale_answer_forgotten_during_a_failing_fetch_is_not_served(
    redis_url: str, prefix: str
) -> None:
    source, clock = Source(), ManualClock(1_700_000_000.0)

    async def scenario() -> None:
        options = {"prefix": prefix, "clock": clock, "ttl": 1.0, "stale_for": 60.0}
        async with redis_caches(redis_url, source, 2, **options) as (a, b):
            assert dict(await a.balances(ALICE_TOKEN)) == {"A": 1}
            clock.now += 2.0  # past the TTL, within the stale window
            source.failure = BalanceUnavailableError("Tokenpass is down")
            source.gate = asyncio.Event()
            source.asked.clear()
            reading = asyncio.create_task(a.read(ALICE_TOKEN))
            await source.asked.wait()
            assert await b.forget(usernames=["alice"]) == 1  # the stale answer is withdrawn
            source.gate.set()
            with pytest.raises(BalanceUnavailableError, match="Tokenpass is down"):
                await reading

    run(scenario)


def test_a_stuck_fetch_loses_its_lock_after_lock_timeout(redis_url: str, prefix: str) -> None:
    source = Source()

    async def scenario() -> None:
        async with redis_caches(redis_url, source, 2, prefix=prefix, lock_timeout=0.2) as (a, b):
            source.gate = asyncio.Event()
            stuck = asyncio.create_task(a.balances(BOB))
            await source.asked.wait()
            source.asked.clear()
            taking_over = asyncio.create_task(b.balances(BOB))
            await source.asked.wait()  # b took the expired lock and asks itself
            source.gate.set()
            # a's answer, past its lock, was not stored: a serves b's instead
            assert [dict(answer) for answer in await asyncio.gather(stuck, taking_over)] == [
                {"A": 2},
                {"A": 2},
            ]
            assert dict(await a.balances(BOB)) == {"A": 2}

    run(scenario)
    assert source.calls[BOB] == 2


@pytest.mark.parametrize("ttl", [1, 0.5])
def test_a_short_ttl_alone_is_a_valid_setting(redis_url: str, ttl: float) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    assert RedisCachedBalances(Source(), client, ttl=ttl).negative_ttl == min(5.0, ttl)


def test_many_holders_at_once_each_get_their_own_balances(redis_url: str, prefix: str) -> None:
    source = Source(delay=0.01)
    holders = [Holder.user(f"user{n}") for n in range(40)]
    holders += [
        Holder.token(f"token{n}", scope, owner=f"user{n}")
        for n in range(20)
        for scope in ("public", "protected")
    ]
    for number, holder in enumerate(holders):
        source.held[holder] = {"ID": number}

    async def scenario() -> list[tuple[Holder, Mapping[str, int]]]:
        async with redis_caches(redis_url, source, 2, prefix=prefix) as workers:

            async def read(
                worker: RedisCachedBalances, holder: Holder
            ) -> tuple[Holder, Mapping[str, int]]:
                return holder, await worker.balances(holder)

            reads = [read(w, h) for _ in range(3) for w in workers for h in holders]
            return await asyncio.gather(*reads)

    for holder, balances in run(scenario):
        assert dict(balances) == {"ID": holders.index(holder)}
    assert set(source.calls.values()) == {1}


def test_no_key_or_value_holds_a_token(
    redis_url: str, redis_client: redis.Redis, prefix: str
) -> None:
    source = Source()

    async def scenario() -> None:
        async with redis_caches(redis_url, source, prefix=prefix) as (cache,):
            await cache.balances(ALICE_TOKEN)
            await cache.balances(PAIR)

    run(scenario)
    keys = [
        key.decode() if isinstance(key, bytes) else key for key in redis_client.keys(f"{prefix}*")
    ]
    assert {key.split(":")[1] for key in keys} == {"balances", "user", "address"}
    dumped = [repr(redis_client.dump(key)) for key in keys]
    assert not any("alice-secret-oauth-token" in text for text in keys + dumped)
    assert all(len(key.rsplit(":", 1)[1].strip("{}")) == 64 for key in keys)


def test_a_corrupt_answer_in_redis_is_fetched_again(
    redis_url: str, redis_client: redis.Redis, prefix: str
) -> None:
    source = Source()

    async def scenario() -> None:
        async with redis_caches(redis_url, source, prefix=prefix) as (cache,):
            await cache.balances(BOB)
            (key,) = redis_client.keys(f"{prefix}balances:*")
            redis_client.set(key, b'{"at": 1e18, "balances": {"A": true}}')
            assert dict(await cache.balances(BOB)) == {"A": 2}

    run(scenario)


def test_a_redis_that_dies_mid_run_refuses_then_recovers(tmp_path: Path) -> None:
    source, port = Source(), free_port()

    async def scenario() -> None:
        server = contextlib.ExitStack()
        url = server.enter_context(redis_server(tmp_path / "first", port=port))
        async with redis_caches(url, source, prefix="dies:") as (cache,):
            assert dict(await cache.balances(ALICE)) == {"A": 1}
            source.gate, source.asked = asyncio.Event(), asyncio.Event()
            pending = asyncio.create_task(cache.balances(BOB))
            await source.asked.wait()  # BOB's fetch holds the lock
            server.close()  # redis-server is gone
            source.gate.set()
            with pytest.raises(BalanceUnavailableError, match="Redis"):
                await pending
            for holder in (ALICE, BOB):
                with pytest.raises(BalanceUnavailableError, match="Redis"):
                    await cache.balances(holder)
            with pytest.raises(BalanceUnavailableError, match="Redis"):
                await cache.forget(usernames=["alice"])
            with redis_server(tmp_path / "second", port=port):
                assert dict(await cache.balances(ALICE)) == {"A": 2}
                assert dict(await cache.balances(BOB)) == {"A": 2}
                assert dict(await cache.balances(ALICE)) == {"A": 2}

    run(scenario)
    assert source.calls == Counter({ALICE: 2, BOB: 2})


def test_an_unreachable_redis_is_unavailable_never_an_answer() -> None:
    source = Source()
    url = f"redis://127.0.0.1:{free_port()}/0"

    async def scenario() -> None:
        async with redis_caches(url, source) as (cache,):
            with pytest.raises(BalanceUnavailableError, match="Redis balance cache failed"):
                await cache.read(ALICE)
            with pytest.raises(BalanceUnavailableError):
                await cache.invalidate(ALICE)

    run(scenario)
    assert source.calls[ALICE] == 0


def test_a_redis_that_accepts_but_never_answers_is_unavailable_not_a_hang() -> None:
    """A client without socket timeouts, on a port that accepts and stays silent."""
    source = Source()
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]

    async def scenario() -> None:
        client = redis.asyncio.Redis(host="127.0.0.1", port=port)
        cache = RedisCachedBalances(source, client, redis_timeout=0.3)
        try:
            with pytest.raises(BalanceUnavailableError, match=r"did not answer within 0\.3 s"):
                await cache.read(ALICE)
        finally:
            await client.aclose()

    try:
        run(scenario)
    finally:
        silent.close()
    assert source.calls[ALICE] == 0


def test_a_client_passed_in_stays_open_and_the_repr_shows_no_url(
    redis_url: str, prefix: str
) -> None:
    import redis.asyncio

    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        cache = RedisCachedBalances(Source(), client, prefix=prefix)
        as_protocol: BalanceCache = cache
        assert dict(await as_protocol.balances(ALICE)) == {"A": 1}
        await cache.aclose()
        assert await client.ping()
        await client.aclose()
        secret = RedisCachedBalances.from_url(Source(), "redis://:hunter2@127.0.0.1:1/0")
        assert "hunter2" not in repr(secret)
        assert repr(secret).startswith("RedisCachedBalances(")

    run(scenario)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("lock_timeout", 0.0, "lock_timeout must be seconds in"),
        ("lock_timeout", 301.0, "lock_timeout must be seconds in"),
        ("stale_for", 301.0, "stale_for must be seconds in"),
        ("negative_ttl", 31.0, "negative_ttl must be seconds in"),
        ("prefix", "", "prefix must be a non-empty string"),
    ],
)
def test_settings_out_of_bounds_are_refused(option: str, value: object, message: str) -> None:
    options: dict[str, Any] = {option: value}  # the constructor's keywords, as from_url takes
    with pytest.raises(InvalidArgumentError, match=message):
        RedisCachedBalances.from_url(Source(), "redis://127.0.0.1:1/0", **options)


def test_a_token_read_first_without_its_owner_is_forgotten_with_the_owner_once_read_with_it(
    redis_url: str, prefix: str
) -> None:
    """A bearer token read (in any worker) before the login that names its owner: the
    owner's read does not take the ownerless answer, which no index set of the owner
    lists, but fetches one indexed under the owner, so forgetting the owner drops it."""
    source = Source()
    bearer = Holder.token("shared-oauth-token")
    login = Holder.token("shared-oauth-token", owner="carol")

    async def scenario() -> None:
        async with redis_caches(redis_url, source, 2, prefix=prefix) as (a, b):
            assert dict(await a.balances(bearer)) == {"A": 1}
            assert dict(await b.balances(login)) == {"A": 2}
            assert dict(await a.balances(login)) == {"A": 2}
            assert dict(await a.balances(bearer)) == {"A": 2}  # the owner's serves anyone
            assert await a.forget(usernames=["carol"]) == 1
            assert dict(await b.balances(bearer)) == {"A": 3}

    run(scenario)
