"""Forgetting by identity in ``CachedBalances``: token owners, usernames and addresses in
every scope, fetches under way kept from filling, and an index that stays bounded."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping

import pytest

from tca_gate import InvalidArgumentError
from tca_gate.balances import CachedBalances, Holder, UnknownHolderError
from tests.support.caches import run
from tests.support.clocks import ManualClock

ALICE_TOKEN = Holder.token("alice-oauth-token", owner="Alice")
ALICE_TOKEN_PROTECTED = Holder.token("alice-oauth-token", "protected", owner="alice")
ALICE = Holder.user("alice")
ALICE_PROTECTED = Holder.user("ALICE", "protected")
BOB = Holder.user("bob")
ANONYMOUS_TOKEN = Holder.token("token-of-nobody-known")
PAIR = Holder.addresses(["1Alice", "1Shared"])
SHARED_PROTECTED = Holder.addresses(["1Shared", "1Other"], "protected")
OTHER = Holder.addresses(["1Other"])
EVERYONE = (
    ALICE_TOKEN,
    ALICE_TOKEN_PROTECTED,
    ALICE,
    ALICE_PROTECTED,
    BOB,
    ANONYMOUS_TOKEN,
    PAIR,
    SHARED_PROTECTED,
    OTHER,
)


class CountingSource:
    """Answers ``{"A": n}``, n counting the calls for the holder so far; waits on
    ``gate`` when set; unknown for holders named ``unknown``."""

    def __init__(self) -> None:
        self.calls: Counter[Holder] = Counter()
        self.gate: asyncio.Event | None = None

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        self.calls[holder] += 1
        asked = self.calls[holder]
        if self.gate is not None:
            await self.gate.wait()
        if holder.value == "unknown":
            raise UnknownHolderError("no such user")
        return {"A": asked}


def filled() -> tuple[CachedBalances, CountingSource]:
    source = CountingSource()
    cache = CachedBalances(source, clock=ManualClock(1000.0))

    async def fill() -> None:
        for holder in EVERYONE:
            await cache.balances(holder)

    run(fill)
    return cache, source


def refetched(cache: CachedBalances, source: CountingSource) -> set[Holder]:
    """The holders whose next read goes to the source again."""
    before = Counter(source.calls)

    async def read_all() -> None:
        for holder in EVERYONE:
            await cache.balances(holder)

    run(read_all)
    return {holder for holder in EVERYONE if source.calls[holder] > before[holder]}


def test_the_owner_is_not_part_of_the_key_and_the_repr_never_shows_the_token() -> None:
    assert Holder.token("t", owner="alice") == Holder.token("t")
    assert hash(Holder.token("t", owner="alice")) == hash(Holder.token("t", owner="bob"))
    assert Holder.token("t", owner="alice").in_scope("protected").owner == "alice"
    shown = repr(Holder.token("very-secret-token", owner="alice"))
    assert "very-secret-token" not in shown
    assert shown.endswith("scope='public', owner='alice')")
    assert repr(Holder.user("bob")) == "Holder.user('bob', scope='public')"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Holder.token("t", owner=""), "owner must be a username"),
        (lambda: Holder.token("t", owner=7), "owner must be a username"),  # type: ignore[arg-type]
        (lambda: Holder(Holder.user("a").kind, "a", owner="a"), "only a token holder"),
    ],
)
def test_a_bad_owner_is_refused(make: Callable[[], Holder], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        make()


def test_forgetting_a_user_drops_their_names_and_owned_tokens_in_every_scope() -> None:
    cache, source = filled()
    dropped = run(lambda: cache.forget(usernames=["ALICE"]))
    assert dropped == 4
    assert refetched(cache, source) == {ALICE_TOKEN, ALICE_TOKEN_PROTECTED, ALICE, ALICE_PROTECTED}


def test_forgetting_an_address_drops_every_address_list_holding_it() -> None:
    cache, source = filled()
    assert run(lambda: cache.forget(addresses=["1Shared"])) == 2
    assert refetched(cache, source) == {PAIR, SHARED_PROTECTED}
    assert run(lambda: cache.forget(addresses=["1Other", "1Alice"], usernames=["bob"])) == 4
    assert refetched(cache, source) == {OTHER, BOB, PAIR, SHARED_PROTECTED}


def test_forgetting_names_nobody_holds_drops_nothing() -> None:
    cache, source = filled()
    assert run(lambda: cache.forget(usernames=["carol"], addresses=["1Nobody"])) == 0
    assert run(cache.forget) == 0
    assert refetched(cache, source) == set()
    assert len(cache) == len(EVERYONE)


def test_a_token_without_an_owner_is_found_only_by_invalidate() -> None:
    cache, source = filled()
    run(lambda: cache.forget(usernames=["alice", "bob"]))
    assert ANONYMOUS_TOKEN not in refetched(cache, source)
    assert run(lambda: cache.invalidate(ANONYMOUS_TOKEN)) == 1  # in memory: awaitable
    cache.invalidate(ALICE)  # and also done without awaiting, as before
    assert refetched(cache, source) == {ANONYMOUS_TOKEN, ALICE}


def test_unknown_holders_remembered_are_forgotten_too() -> None:
    source = CountingSource()
    cache = CachedBalances(source, negative_ttl=5.0)
    unknown = Holder.user("unknown")

    async def scenario() -> int:
        for _ in range(2):
            with pytest.raises(UnknownHolderError):
                await cache.balances(unknown)
        dropped = await cache.forget(usernames=["Unknown"])
        with pytest.raises(UnknownHolderError):
            await cache.balances(unknown)
        return dropped

    assert run(scenario) == 1
    assert source.calls[unknown] == 2


def test_a_fetch_under_way_when_forgotten_is_neither_stored_nor_served() -> None:
    source = CountingSource()
    cache = CachedBalances(source, clock=ManualClock(1000.0))

    async def scenario() -> None:
        source.gate = asyncio.Event()
        early = [asyncio.create_task(cache.balances(ALICE_TOKEN)) for _ in range(3)]
        while source.calls[ALICE_TOKEN] < 1:
            await asyncio.sleep(0)
        assert await cache.forget(usernames=["alice"]) == 0  # nothing stored yet
        late = asyncio.create_task(cache.balances(ALICE_TOKEN))  # a new flight
        await asyncio.sleep(0)
        source.gate.set()
        # the early readers' fetch began before the forget: its answer (1) is withheld,
        # and they share the fetch begun after it
        assert [dict(answer) for answer in await asyncio.gather(*early)] == [{"A": 2}] * 3
        assert dict(await late) == {"A": 2}
        assert dict(await cache.balances(ALICE_TOKEN)) == {"A": 2}  # the late flight's

    run(scenario)
    assert source.calls[ALICE_TOKEN] == 2
    assert len(cache) == 1


def test_forget_arguments_are_checked() -> None:
    cache, _ = filled()
    with pytest.raises(InvalidArgumentError, match="usernames must be a list"):
        run(lambda: cache.forget(usernames="alice"))
    with pytest.raises(InvalidArgumentError, match=r"addresses\[1\] must be a non-empty"):
        run(lambda: cache.forget(addresses=["1A", " "]))
    with pytest.raises(InvalidArgumentError, match=r"usernames\[0\]"):
        run(lambda: cache.forget(usernames=[None]))  # type: ignore[list-item]
    assert len(cache) == len(EVERYONE)


def index_size(cache: CachedBalances) -> int:
    """How many holders the (private) index records, counted from its sets."""
    entries = [*cache._by_user.values(), *cache._by_address.values()]
    counted = sum(len(found) if isinstance(found, set) else 1 for found in entries)
    assert counted == cache._indexed
    return cache._indexed


def test_the_index_stays_bounded_as_answers_are_evicted() -> None:
    source = CountingSource()
    clock = ManualClock(1000.0)
    cache = CachedBalances(source, ttl=10.0, maxsize=50, clock=clock)
    owners = [f"user{n}" for n in range(6000)]

    async def scenario() -> None:
        for n, owner in enumerate(owners):
            await cache.balances(Holder.token(f"token-{n}", owner=owner))
            await cache.balances(Holder.addresses([f"1Address{n}", "1Everyone"]))
            clock.now += 0.001
        assert len(cache) == 50
        assert index_size(cache) <= 2 * 1024 + 3
        clock.now += 60  # every answer expires
        for n in range(2000):
            await cache.balances(Holder.user(f"late{n}"))
        assert index_size(cache) <= 2 * 1024 + 1
        # the holders still cached are still found
        assert await cache.forget(usernames=["LATE1999"]) == 1
        assert await cache.forget(addresses=["1Everyone"]) == 0  # all evicted long ago

    run(scenario)


def test_forgetting_among_many_entries_drops_exactly_the_holders_named() -> None:
    source = CountingSource()
    cache = CachedBalances(source)
    users = [Holder.user(f"user{n}") for n in range(3000)]

    async def scenario() -> None:
        for holder in users:
            await cache.balances(holder)
        names = [f"USER{n}" for n in range(0, 3000, 7)]
        assert await cache.forget(usernames=names) == len(names)
        assert len(cache) == 3000 - len(names)

    run(scenario)


def test_a_token_read_first_without_its_owner_is_forgotten_with_the_owner_once_read_with_it() -> (
    None
):
    """A bearer token read before the login that names its owner: the owner's read does
    not take the ownerless answer (not indexed under the owner) but fetches one that is,
    so forgetting the owner drops it."""
    source = CountingSource()
    cache = CachedBalances(source, clock=ManualClock(1000.0))
    bearer = Holder.token("shared-oauth-token")
    login = Holder.token("shared-oauth-token", owner="carol")

    async def scenario() -> None:
        assert dict(await cache.balances(bearer)) == {"A": 1}
        assert cache.peek(login) is None
        assert dict(await cache.balances(login)) == {"A": 2}
        assert dict(cache.peek(login) or {}) == {"A": 2}
        assert dict(await cache.balances(bearer)) == {"A": 2}  # the owner's serves anyone
        assert await cache.forget(usernames=["CAROL"]) == 1
        assert cache.peek(bearer) is None
        assert dict(await cache.balances(login)) == {"A": 3}

    run(scenario)
