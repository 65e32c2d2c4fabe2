"""``CachedBalances`` over a scripted source and a fake clock: TTL, size bound, single
flight, cancellation, errors never cached, bounded staleness, negative caching,
invalidation and isolation between holders."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Mapping
from typing import TypedDict, Unpack

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tca_gate import InvalidArgumentError
from tca_gate.balances import (
    MAX_STALE_FOR,
    BalanceUnavailableError,
    CachedBalances,
    Holder,
    UnknownHolderError,
)
from tests.support.caches import run
from tests.support.clocks import ManualClock

ALICE = Holder.user("alice")
BOB = Holder.user("bob")


class ScriptedSource:
    """Answers from ``held`` (or raises ``failure``), after ``gate`` opens; counts calls."""

    def __init__(self, held: Mapping[Holder, dict[str, int]] | None = None) -> None:
        self.held = dict(held or {})
        self.failure: BaseException | None = None
        self.calls: Counter[Holder] = Counter()
        self.gate: asyncio.Event | None = None

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        self.calls[holder] += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        if holder not in self.held:
            raise UnknownHolderError(f"no {holder!r}")
        return self.held[holder]


class CacheOptions(TypedDict, total=False):
    """The ``CachedBalances`` settings these tests vary."""

    ttl: float
    maxsize: int
    stale_for: float
    negative_ttl: float


def cached(
    source: ScriptedSource, clock: ManualClock, **options: Unpack[CacheOptions]
) -> CachedBalances:
    return CachedBalances(source, clock=clock, **options)


def test_answers_are_kept_for_the_ttl_and_fetched_again_after() -> None:
    source, clock = ScriptedSource({ALICE: {"TOKENLY": 100}}), ManualClock(1000.0)
    cache = cached(source, clock, ttl=30.0)

    async def scenario() -> None:
        assert dict(await cache.balances(ALICE)) == {"TOKENLY": 100}
        clock.now += 29.9
        source.held[ALICE] = {"TOKENLY": 7}
        assert dict(await cache.balances(ALICE)) == {"TOKENLY": 100}
        assert source.calls[ALICE] == 1
        clock.now += 0.1
        reading = await cache.read(ALICE)
        assert dict(reading.balances) == {"TOKENLY": 7}
        assert (reading.stale, reading.age) == (False, 0.0)
        assert source.calls[ALICE] == 2

    run(scenario)
    assert (cache.stats.hits, cache.stats.misses, cache.stats.upstream_calls) == (1, 2, 2)


def test_the_cache_holds_at_most_maxsize_answers() -> None:
    holders = [Holder.user(f"user{i}") for i in range(5)]
    source = ScriptedSource({holder: {"A": i} for i, holder in enumerate(holders)})
    cache = cached(source, ManualClock(1000.0), maxsize=3)

    async def scenario() -> None:
        for holder in holders:
            await cache.balances(holder)
        assert len(cache) == 3
        await cache.balances(holders[0])
        await cache.balances(holders[4])

    run(scenario)
    assert source.calls[holders[0]] == 2
    assert source.calls[holders[4]] == 1


def test_a_thousand_concurrent_requests_make_one_upstream_call() -> None:
    source = ScriptedSource({ALICE: {"TOKENLY": 5}})
    cache = cached(source, ManualClock(1000.0))

    async def scenario() -> list[Mapping[str, int]]:
        source.gate = asyncio.Event()
        waiting = [asyncio.create_task(cache.balances(ALICE)) for _ in range(1000)]
        await asyncio.sleep(0)
        source.gate.set()
        return await asyncio.gather(*waiting)

    answers = run(scenario)
    assert [dict(answer) for answer in answers] == [{"TOKENLY": 5}] * 1000
    assert source.calls[ALICE] == 1
    assert (cache.stats.upstream_calls, cache.stats.misses) == (1, 1000)


def test_cancelled_waiters_do_not_cancel_the_fetch_for_the_others() -> None:
    source = ScriptedSource({ALICE: {"TOKENLY": 5}})
    cache = cached(source, ManualClock(1000.0))

    async def scenario() -> None:
        source.gate = asyncio.Event()
        waiting = [asyncio.create_task(cache.balances(ALICE)) for _ in range(10)]
        await asyncio.sleep(0)
        for task in waiting[:5]:
            task.cancel()
        await asyncio.sleep(0)
        source.gate.set()
        answers = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(answer, asyncio.CancelledError) for answer in answers[:5])
        fetched = [a if isinstance(a, BaseException) else dict(a) for a in answers[5:]]
        assert fetched == [{"TOKENLY": 5}] * 5

    run(scenario)
    assert source.calls[ALICE] == 1


def test_a_fetch_whose_waiters_all_left_still_fills_the_cache() -> None:
    source = ScriptedSource({ALICE: {"TOKENLY": 5}})
    cache = cached(source, ManualClock(1000.0))

    async def scenario() -> None:
        source.gate = asyncio.Event()
        waiter = asyncio.create_task(cache.balances(ALICE))
        await asyncio.sleep(0)
        waiter.cancel()
        source.gate.set()
        for _ in range(3):
            await asyncio.sleep(0)
        assert dict(await cache.balances(ALICE)) == {"TOKENLY": 5}

    run(scenario)
    assert source.calls[ALICE] == 1
    assert cache.stats.hits == 1


def test_upstream_errors_reach_every_waiter_and_are_never_cached() -> None:
    source = ScriptedSource({ALICE: {"TOKENLY": 5}})
    cache = cached(source, ManualClock(1000.0), stale_for=60.0)

    async def scenario() -> None:
        source.gate, source.failure = asyncio.Event(), BalanceUnavailableError("down")
        waiting = [asyncio.create_task(cache.balances(ALICE)) for _ in range(20)]
        await asyncio.sleep(0)
        source.gate.set()
        answers = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(answer, BalanceUnavailableError) for answer in answers)
        assert source.calls[ALICE] == 1
        with pytest.raises(BalanceUnavailableError):
            await cache.balances(ALICE)
        assert source.calls[ALICE] == 2
        source.failure = None
        assert dict(await cache.balances(ALICE)) == {"TOKENLY": 5}

    run(scenario)
    assert source.calls[ALICE] == 3
    assert (cache.stats.upstream_errors, cache.stats.stale_served) == (2, 0)


def test_other_exceptions_propagate_uncached_and_never_serve_stale() -> None:
    source, clock = ScriptedSource({ALICE: {"TOKENLY": 5}}), ManualClock(1000.0)
    cache = cached(source, clock, ttl=10.0, stale_for=60.0)

    async def scenario() -> None:
        await cache.balances(ALICE)
        clock.now += 11
        source.failure = RuntimeError("a bug in the source")
        with pytest.raises(RuntimeError, match="a bug"):
            await cache.balances(ALICE)
        with pytest.raises(RuntimeError, match="a bug"):
            await cache.balances(ALICE)

    run(scenario)
    assert source.calls[ALICE] == 3


def test_stale_answers_are_served_only_within_the_window_after_a_failure() -> None:
    source, clock = ScriptedSource({ALICE: {"TOKENLY": 5}}), ManualClock(1000.0)
    cache = cached(source, clock, ttl=10.0, stale_for=20.0)

    async def scenario() -> None:
        await cache.balances(ALICE)
        clock.now += 15
        source.failure = BalanceUnavailableError("down")
        reading = await cache.read(ALICE)
        assert dict(reading.balances) == {"TOKENLY": 5}
        assert (reading.stale, reading.age) == (True, 15.0)
        clock.now += 14.9
        assert (await cache.read(ALICE)).stale
        clock.now += 0.1
        with pytest.raises(BalanceUnavailableError, match="down"):
            await cache.read(ALICE)
        source.failure = None
        assert not (await cache.read(ALICE)).stale

    run(scenario)
    assert cache.stats.stale_served == 2
    assert source.calls[ALICE] == 5


def test_without_a_stale_window_a_failure_is_never_covered() -> None:
    source, clock = ScriptedSource({ALICE: {"TOKENLY": 5}}), ManualClock(1000.0)
    cache = cached(source, clock, ttl=10.0)

    async def scenario() -> None:
        await cache.balances(ALICE)
        clock.now += 10
        source.failure = BalanceUnavailableError("down")
        with pytest.raises(BalanceUnavailableError):
            await cache.balances(ALICE)

    run(scenario)


def test_unknown_holders_are_remembered_for_the_negative_ttl() -> None:
    source, clock = ScriptedSource(), ManualClock(1000.0)
    cache = cached(source, clock, negative_ttl=5.0)

    async def scenario() -> None:
        for _ in range(3):
            with pytest.raises(UnknownHolderError, match="alice"):
                await cache.balances(ALICE)
        assert source.calls[ALICE] == 1
        clock.now += 5
        source.held[ALICE] = {"TOKENLY": 1}
        assert dict(await cache.balances(ALICE)) == {"TOKENLY": 1}

    run(scenario)
    assert source.calls[ALICE] == 2


def test_an_unknown_holder_is_not_served_stale_balances() -> None:
    source, clock = ScriptedSource({ALICE: {"TOKENLY": 1}}), ManualClock(1000.0)
    cache = cached(source, clock, ttl=10.0, stale_for=60.0, negative_ttl=0.0)

    async def scenario() -> None:
        await cache.balances(ALICE)
        clock.now += 11
        del source.held[ALICE]
        for _ in range(2):
            with pytest.raises(UnknownHolderError):
                await cache.balances(ALICE)
        source.failure = BalanceUnavailableError("down")
        with pytest.raises(BalanceUnavailableError):
            await cache.balances(ALICE)

    run(scenario)
    assert source.calls[ALICE] == 4
    assert cache.stats.stale_served == 0


def test_invalidate_forgets_every_scope_of_one_identity_only() -> None:
    alice_protected = ALICE.in_scope("protected")
    held = {ALICE: {"A": 1}, alice_protected: {"A": 2}, BOB: {"A": 3}}
    source = ScriptedSource(held)
    cache = cached(source, ManualClock(1000.0))

    async def scenario() -> None:
        for holder in held:
            await cache.balances(holder)
        cache.invalidate(alice_protected)
        for holder in held:
            await cache.balances(holder)

    run(scenario)
    assert source.calls == Counter({ALICE: 2, alice_protected: 2, BOB: 1})


def test_a_fetch_under_way_when_invalidated_is_neither_stored_nor_served() -> None:
    class Snapshot(ScriptedSource):
        """Reads the holdings when asked, then waits: an answer older than the invalidation."""

        async def balances(self, holder: Holder) -> Mapping[str, int]:
            answer = dict(self.held[holder])
            await super().balances(holder)
            return answer

    source = Snapshot({ALICE: {"A": 1}})
    cache = cached(source, ManualClock(1000.0))

    async def scenario() -> None:
        source.gate = asyncio.Event()
        first = asyncio.create_task(cache.balances(ALICE))
        while not source.calls[ALICE]:  # until the fetch is under way
            await asyncio.sleep(0)
        cache.invalidate(ALICE)  # the balances changed: what is being read is old
        source.held[ALICE] = {"A": 2}
        source.gate.set()
        assert dict(await first) == {"A": 2}  # fetched again, the old answer withheld
        assert len(cache) == 1
        cache.clear()
        assert len(cache) == 0
        await cache.balances(ALICE)

    run(scenario)
    assert source.calls[ALICE] == 3


def test_balances_withdrawn_on_every_fetch_are_unavailable_never_the_old_answer() -> None:
    class ChangingSource(ScriptedSource):
        """Each answer is withdrawn (as a webhook would) before it is returned."""

        async def balances(self, holder: Holder) -> Mapping[str, int]:
            answer = await super().balances(holder)
            cache.invalidate(holder)
            return answer

    source = ChangingSource({ALICE: {"A": 1}})
    cache = cached(source, ManualClock(1000.0))

    async def scenario() -> None:
        with pytest.raises(BalanceUnavailableError, match="changed 3 times while being fetched"):
            await cache.balances(ALICE)

    run(scenario)
    assert (source.calls[ALICE], len(cache)) == (3, 0)


@pytest.mark.parametrize("ttl", [1, 0.5, 2.5])
def test_a_short_ttl_alone_is_a_valid_setting(ttl: float) -> None:
    cache = CachedBalances(ScriptedSource(), ttl=ttl)
    assert cache.negative_ttl == min(5.0, ttl)
    assert CachedBalances(ScriptedSource(), ttl=60).negative_ttl == 5.0


def test_answers_are_read_only_and_checked() -> None:
    source = ScriptedSource({ALICE: {"A": 1}, BOB: {"A": True}})
    cache = cached(source, ManualClock(1000.0), stale_for=60.0)

    async def scenario() -> None:
        answer = await cache.balances(ALICE)
        with pytest.raises(TypeError):
            answer["A"] = 10**9  # type: ignore[index]
        source.held[ALICE]["A"] = 10**9
        assert dict(await cache.balances(ALICE)) == {"A": 1}
        with pytest.raises(BalanceUnavailableError, match="A as bool True, not an int"):
            await cache.balances(BOB)

    run(scenario)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("ttl", 0.0),
        ("ttl", float("nan")),
        ("stale_for", MAX_STALE_FOR + 1),
        ("stale_for", -1.0),
        ("negative_ttl", 31.0),
        ("maxsize", 0),
        ("maxsize", True),
    ],
)
def test_settings_out_of_bounds_are_refused(option: str, value: float) -> None:
    with pytest.raises(InvalidArgumentError, match=option):
        CachedBalances(ScriptedSource(), **{option: value})  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None)
@given(
    names=st.lists(
        st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=8),
        min_size=1,
        max_size=25,
        unique=True,
    ),
    repeats=st.integers(1, 4),
    seed=st.randoms(use_true_random=False),
)
def test_concurrent_holders_each_get_their_own_balances(
    names: list[str], repeats: int, seed: random.Random
) -> None:
    holders = [
        holder
        for name in names
        for base in (Holder.user(name), Holder.token(name))
        for holder in (base, base.in_scope("protected"))
    ]
    held = {holder: {"ID": index} for index, holder in enumerate(holders)}
    source = ScriptedSource(held)
    cache = cached(source, ManualClock(1000.0))
    asked = holders * repeats
    seed.shuffle(asked)

    async def scenario() -> list[Mapping[str, int]]:
        source.gate = asyncio.Event()
        waiting = [asyncio.create_task(cache.balances(holder)) for holder in asked]
        await asyncio.sleep(0)
        source.gate.set()
        return await asyncio.gather(*waiting)

    answers = run(scenario)
    assert [dict(answer) for answer in answers] == [held[holder] for holder in asked]
    assert source.calls == Counter(dict.fromkeys(holders, 1))
