"""``RedisCachedBalances`` when its steps interleave with another worker's: two forgets of
the same user, a fetch that settles in the middle of a forget, a flight a change reaches
in another worker. Each race is made to happen, not hoped for: a loopback proxy in front
of a worker's Redis holds a chosen request (a step paused) or loses a chosen reply."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Mapping
from urllib.parse import urlsplit

import pytest

from tca_gate.balances import BalanceUnavailableError, Change, Holder, RedisCachedBalances
from tca_gate.balances import _redis_scripts as scripts
from tests.support.redis_proxy import reply_proxy

ALICE = Holder.user("alice")


class Source:
    """Answers ``held`` for every holder: what it held when asked, given once ``gate`` (if
    set) opens, as an upstream's reply arrives after the question."""

    def __init__(self) -> None:
        self.held: Mapping[str, int] = {"TOKENLY": 100}
        self.gate: asyncio.Event | None = None
        self.asked = asyncio.Event()

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        answer = dict(self.held)
        self.asked.set()
        if self.gate is not None:
            await self.gate.wait()
        return answer


@pytest.fixture
def prefix() -> str:
    return f"race-{uuid.uuid4().hex[:12]}:"


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def sent(script: str) -> bytes:
    """What marks a request running ``script`` (its SHA-1, which EVALSHA names)."""
    return hashlib.sha1(script.encode()).hexdigest().encode()


@pytest.mark.parametrize("how", ["its drop failed", "its take's reply was lost"])
def test_a_forget_overlapping_an_earlier_one_still_drops_what_it_took(
    redis_url: str, prefix: str, how: str
) -> None:
    """Forget A has dropped alice's answer and published, and is about to clear what it
    took; an answer fetched after that is taken by forget B, whose drop fails (or whose
    take runs but its reply is lost and the client sends it again). A clearing what it
    took must leave what B took: B's retry still finds and drops the answer."""
    source = Source()

    async def scenario() -> None:
        async with (
            reply_proxy(port_of(redis_url)) as (first, first_port),
            reply_proxy(port_of(redis_url)) as (second, second_port),
        ):
            a = RedisCachedBalances.from_url(
                source, f"redis://127.0.0.1:{first_port}/0", prefix=prefix, ttl=300.0
            )
            b = RedisCachedBalances.from_url(
                source,
                f"redis://127.0.0.1:{second_port}/0",
                prefix=prefix,
                ttl=300.0,
                redis_timeout=0.5,
            )
            try:
                await a.forget(usernames=["warm"])  # the scripts loaded
                await b.forget(usernames=["warm"])
                assert dict(await a.balances(ALICE)) == {"TOKENLY": 100}
                source.held = {"TOKENLY": 50}
                first.stop_at = sent(scripts.UNTAKE)
                forget_a = asyncio.create_task(a.forget(usernames=["alice"]))
                await first.stopped.wait()  # A dropped and published; clears nothing yet
                assert dict(await b.balances(ALICE)) == {"TOKENLY": 50}
                source.held = {}
                if how == "its drop failed":
                    second.stop_at = f"{prefix}balances:".encode()
                    with pytest.raises(BalanceUnavailableError):
                        await b.forget(usernames=["alice"])
                    first.go.set()
                    assert await forget_a == 1
                    dropped = await b.forget(usernames=["alice"])  # the webhook's retry
                else:

                    def hold_the_resend() -> None:
                        second.stop_at = sent(scripts.TAKE)

                    second.lose_next = True  # the take is its first request
                    second.on_lost = hold_the_resend
                    forget_b = asyncio.create_task(b.forget(usernames=["alice"]))
                    await second.stopped.wait()  # B's take ran, its reply lost, resent
                    first.go.set()
                    assert await forget_a == 1
                    second.go.set()
                    dropped = await forget_b
                    assert second.lost == 1
                assert dropped == 1
                assert dict(await a.balances(ALICE)) == {}
                assert dict(await b.balances(ALICE)) == {}
            finally:
                await a.aclose()
                await b.aclose()

    asyncio.run(scenario())


def test_a_fetch_settling_while_a_forget_drops_its_holder_stores_nothing_that_stays(
    redis_url: str, prefix: str
) -> None:
    """A fetch asked the upstream before alice's tokens left; the webhook's forget takes
    her holder and drops it while the fetch's reply is on its way. However the forget's
    drop and the fetch's settle interleave (here: the settle lands as the drop reaches
    the holder's lock), the old answer is gone once the forget returned."""
    source = Source()

    async def scenario() -> None:
        async with reply_proxy(port_of(redis_url)) as (proxy, port):
            webhook = RedisCachedBalances.from_url(
                source, f"redis://127.0.0.1:{port}/0", prefix=prefix, ttl=300.0
            )
            serving = RedisCachedBalances.from_url(source, redis_url, prefix=prefix, ttl=300.0)
            try:
                source.gate = asyncio.Event()
                fetch = asyncio.create_task(serving.balances(ALICE))
                await source.asked.wait()  # locked and indexed; the upstream answers {100}
                source.held = {}
                proxy.stop_at = f"{prefix}lock:{{".encode()
                forget = asyncio.create_task(webhook.forget(usernames=["alice"]))
                await proxy.stopped.wait()  # the forget drops alice's holder now
                source.gate.set()
                assert dict(await fetch) == {"TOKENLY": 100}  # asked before the forget
                proxy.go.set()
                await forget
                assert dict(await serving.balances(ALICE)) == {}
                assert dict(await webhook.balances(ALICE)) == {}
            finally:
                await webhook.aclose()
                await serving.aclose()

    asyncio.run(scenario())


def test_a_read_after_a_change_is_heard_joins_no_flight_begun_before_it(
    redis_url: str, prefix: str
) -> None:
    """A worker's read of alice has had Redis's answer ({100}), still on its way, when
    another worker forgets her. Once this worker hears the change, a read does not share
    that flight: not the one its own listener (the gate's re-judge) starts on hearing,
    nor one begun after the forget returned; each reads again and gets the new answer."""
    source = Source()

    async def scenario() -> None:
        async with reply_proxy(port_of(redis_url)) as (proxy, port):
            webhook = RedisCachedBalances.from_url(source, redis_url, prefix=prefix, ttl=300.0)
            serving = RedisCachedBalances.from_url(
                source, f"redis://127.0.0.1:{port}/0", prefix=prefix, ttl=300.0
            )
            rejudged: list[asyncio.Task[Mapping[str, int]]] = []
            heard = asyncio.Event()

            def rejudge(change: Change) -> None:
                if change.concerns(ALICE):
                    rejudged.append(asyncio.create_task(serving.balances(ALICE)))
                    heard.set()

            try:
                serving.changes.subscribe(rejudge)
                assert await serving.changes.start()
                assert dict(await serving.balances(ALICE)) == {"TOKENLY": 100}
                proxy.hold_reply_to = f"{prefix}balances:".encode()
                early = asyncio.create_task(serving.balances(ALICE))
                await proxy.stopped.wait()  # Redis answered {100}; the reply is held
                source.held = {}
                assert await webhook.forget(usernames=["alice"]) == 1
                await heard.wait()
                late = asyncio.create_task(serving.balances(ALICE))
                await asyncio.sleep(0)  # the late read has joined a flight, or begun one
                proxy.go.set()
                assert [dict(await read) for read in (*rejudged, late)] == [{}, {}]
                await early
            finally:
                await webhook.aclose()
                await serving.aclose()

    asyncio.run(scenario())
