"""``RedisCachedBalances`` on a real three-master Redis Cluster, and on a Valkey one: each
holder's keys in one slot, holders spread over the masters, one upstream call across
workers, forgetting many holders slot by slot, and a master that stops (refused, never
guessed) and comes back."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
import redis

from tca_gate import InvalidArgumentError
from tca_gate.balances import (
    BalanceUnavailableError,
    Holder,
    RedisCachedBalances,
    UnknownHolderError,
)
from tests.support.caches import redis_caches, run
from tests.support.redis_cluster import LoopbackCluster

USERS = [Holder.user(f"user{n}") for n in range(30)]
TOKENS = [
    Holder.token(f"token-{n}", scope, owner=f"user{n}")
    for n in range(30)
    for scope in ("public", "protected")
]


class Source:
    """Answers ``{"A": n}`` (n: the calls for that holder so far, or ``held``); waits on
    ``gate`` when set, after announcing the call on ``asked``; unknown for ``unknown``."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: Counter[Holder] = Counter()
        self.held: dict[Holder, Mapping[str, int]] = {}
        self.gate: asyncio.Event | None = None
        self.asked = asyncio.Event()

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        self.calls[holder] += 1
        asked = self.calls[holder]
        answer = dict(self.held.get(holder, {"A": asked}))
        self.asked.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.gate is not None:
            await self.gate.wait()
        if holder.value == "unknown":
            raise UnknownHolderError("no such user")
        return answer


@pytest.fixture(params=["redis", "valkey"])
def nodes(request: pytest.FixtureRequest) -> LoopbackCluster:
    """Each test on the Redis Cluster, then on the Valkey one: the scripts use only
    commands both keep."""
    cluster: LoopbackCluster = request.getfixturevalue(
        "cluster" if request.param == "redis" else "valkey_cluster"
    )
    return cluster


@pytest.fixture
def prefix() -> str:
    return f"cluster-{uuid.uuid4().hex[:12]}:"


@contextlib.asynccontextmanager
async def caches(
    cluster: LoopbackCluster, source: Source, count: int = 1, **options: Any
) -> AsyncIterator[list[RedisCachedBalances]]:
    """``count`` caches on separate cluster clients, as separate workers would have."""
    async with redis_caches(cluster.url, source, count, cluster=True, **options) as made:
        yield made


def cluster_keys(cluster: LoopbackCluster, pattern: str) -> list[str]:
    """Every key matching ``pattern`` on every master."""
    found: list[str] = []
    for port in cluster.ports:
        with redis.Redis(port=port, decode_responses=True) as node:
            found += node.keys(pattern)
    return found


def test_a_holders_keys_share_a_slot_and_holders_spread_over_the_masters(
    nodes: LoopbackCluster, prefix: str
) -> None:
    source = Source()

    async def scenario() -> list[str]:
        async with caches(nodes, source, prefix=prefix, lock_timeout=5.0) as (cache,):
            for holder in USERS:
                assert dict(await cache.balances(holder)) == {"A": 1}
            source.gate = asyncio.Event()  # hold one fetch, to see its lock beside its answer
            source.asked.clear()
            held = asyncio.create_task(cache.balances(USERS[0].in_scope("protected")))
            await source.asked.wait()
            keys = cluster_keys(nodes, f"{prefix}*")
            source.gate.set()
            await held
            return keys

    keys = run(scenario)
    answers = {key for key in keys if key.startswith(f"{prefix}balances:")}
    assert len(answers) == len(USERS)
    (lock,) = (key for key in keys if key.startswith(f"{prefix}lock:"))
    tag = lock.split(":", 2)[2]
    assert f"{prefix}balances:{tag}" not in answers  # not stored yet: the fetch was held
    with redis.RedisCluster.from_url(nodes.url) as client:
        assert client.keyslot(lock) == client.keyslot(f"{prefix}balances:{tag}")
        assert client.keyslot(lock) == client.keyslot(f"{prefix}failed:{tag}")
    masters = {nodes.node_of(key) for key in answers}
    assert masters == set(nodes.ports)  # 30 holders: every master holds some


def test_answers_are_hits_and_workers_share_one_upstream_call(
    nodes: LoopbackCluster, prefix: str
) -> None:
    source = Source(delay=0.05)

    async def scenario() -> None:
        async with caches(nodes, source, 2, prefix=prefix) as (a, b):
            reads = [cache.balances(holder) for cache in (a, b) for holder in TOKENS[:6]] * 50
            answers = await asyncio.gather(*reads)
            assert [dict(answer) for answer in answers] == [{"A": 1}] * 600
            assert a.stats.upstream_calls + b.stats.upstream_calls == 6
            before = a.stats.hits
            assert dict(await a.balances(TOKENS[0])) == {"A": 1}
            assert a.stats.hits == before + 1

    run(scenario)
    assert set(source.calls.values()) == {1}


def test_forgetting_many_users_drops_their_answers_on_every_master(
    nodes: LoopbackCluster, prefix: str
) -> None:
    source = Source()
    pairs = [Holder.addresses([f"1Addr{n}", "1Shared"]) for n in range(12)]
    everyone = USERS + TOKENS + pairs

    async def scenario() -> None:
        async with caches(nodes, source, 2, prefix=prefix) as (a, b):
            await asyncio.gather(*(a.balances(holder) for holder in everyone))
            names = [str(holder.value).upper() for holder in USERS]  # names in any case
            assert await b.forget(usernames=names) == len(USERS) + len(TOKENS)
            assert await b.forget(usernames=names) == 0
            assert await a.forget(addresses=["1Shared"]) == len(pairs)
            await asyncio.gather(*(b.balances(holder) for holder in everyone))
            assert await a.invalidate(USERS[3]) == 1
            assert await a.invalidate(USERS[3]) == 0
            assert dict(await b.balances(USERS[3])) == {"A": 3}

    run(scenario)
    assert source.calls == Counter({**dict.fromkeys(everyone, 2), USERS[3]: 3})


def test_a_webhook_naming_a_thousand_users_is_forgotten_within_the_clients_connections(
    nodes: LoopbackCluster, prefix: str
) -> None:
    """The most users one webhook event may name: more index sets than the client has
    connections to each master (100), so the forget reads them a batch at a time."""
    source = Source()
    names = [f"member{n}" for n in range(1000)]

    async def scenario() -> int:
        async with caches(nodes, source, prefix=prefix) as (cache,):
            await asyncio.gather(*(cache.balances(Holder.user(name)) for name in names[:50]))
            return await cache.forget(usernames=names)

    assert run(scenario) == 50


def test_unknown_holders_are_remembered_across_workers(nodes: LoopbackCluster, prefix: str) -> None:
    source = Source()
    unknown = Holder.user("unknown")

    async def scenario() -> None:
        async with caches(nodes, source, 2, prefix=prefix, negative_ttl=30.0) as (a, b):
            for cache in (a, b, a):
                with pytest.raises(UnknownHolderError, match="no such user"):
                    await cache.balances(unknown)
            assert b.stats.hits == 1
            assert await b.forget(usernames=["unknown"]) == 1
            with pytest.raises(UnknownHolderError):
                await a.balances(unknown)

    run(scenario)
    assert source.calls[unknown] == 2


def test_a_fetch_forgotten_in_another_worker_is_neither_stored_nor_served(
    nodes: LoopbackCluster, prefix: str
) -> None:
    source = Source()
    alice = Holder.token("alice-token", owner="alice")

    async def scenario() -> None:
        async with caches(nodes, source, 2, prefix=prefix) as (a, b):
            source.held[alice] = {"A": 100}  # what a's fetch reads: about to be withdrawn
            source.gate = asyncio.Event()
            early = [asyncio.create_task(a.balances(alice)) for _ in range(3)]
            await source.asked.wait()
            assert await b.forget(usernames=["alice"]) == 0  # nothing stored yet
            source.held[alice] = {"A": 0}
            source.gate.set()
            assert [dict(answer) for answer in await asyncio.gather(*early)] == [{"A": 0}] * 3
            source.gate = None
            assert dict(await b.balances(alice)) == {"A": 0}

    run(scenario)
    assert source.calls[alice] == 2


def test_a_prefix_with_braces_is_refused_as_it_would_split_a_holders_keys() -> None:
    with pytest.raises(InvalidArgumentError, match="prefix must not hold braces"):
        RedisCachedBalances.from_url(Source(), "redis://127.0.0.1:1/0", prefix="app{1:")


def test_a_stopped_master_refuses_its_holders_then_the_cache_recovers(
    nodes: LoopbackCluster, prefix: str
) -> None:
    """The master of some holders' slots stops: their reads and a forget touching them
    are refused (503), holders on the other masters are still served, and the forget keeps
    the index entries it took (in the taking hashes) for its retry; restarted from its
    config file, the master serves again (empty: its holders are asked again)."""
    source = Source()
    stopped = nodes.ports[1]
    names = [str(holder.value) for holder in USERS]

    def live_index() -> dict[str, set[str]]:
        """The index sets on the masters still running, and their digests (with those
        taken into their taking hashes by a forget not finished)."""
        found: dict[str, set[str]] = {}
        for port in nodes.ports:
            if port != stopped:
                with redis.Redis(port=port, decode_responses=True) as node:
                    for key in node.keys(f"{prefix}user:*"):
                        index = key.removesuffix(":taking")
                        digests = node.hkeys(key) if key != index else node.smembers(key)
                        found[index] = found.get(index, set()) | set(digests)
        return found

    async def scenario() -> None:
        async with caches(nodes, source, prefix=prefix, ttl=300.0) as (cache,):
            for holder in USERS:
                await cache.balances(holder)
            indexed = live_index()
            nodes.stop(stopped)
            try:
                outcomes = await asyncio.gather(
                    *(cache.balances(holder) for holder in USERS), return_exceptions=True
                )
                refused = [o for o in outcomes if isinstance(o, BaseException)]
                served = [dict(o) for o in outcomes if not isinstance(o, BaseException)]
                assert all(isinstance(error, BalanceUnavailableError) for error in refused)
                assert 0 < len(refused) < len(USERS)
                assert served == [{"A": 1}] * len(served)  # from the cache: no upstream call
                with pytest.raises(BalanceUnavailableError, match="Redis"):
                    await cache.forget(usernames=names)
                assert live_index() == indexed  # kept, for the webhook's retry
            finally:
                nodes.start(stopped)
            deadline = time.monotonic() + 15
            while True:
                try:
                    found = await asyncio.gather(*(cache.balances(holder) for holder in USERS))
                    break
                except BalanceUnavailableError:
                    assert time.monotonic() < deadline, "the cluster did not come back"
                    await asyncio.sleep(0.1)
            assert sorted(dict(answer)["A"] for answer in found) == sorted(
                [1] * len(served) + [2] * len(refused)
            )

    run(scenario)
    nodes.wait_ok()
