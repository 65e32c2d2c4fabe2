"""Revoking access over a real uvicorn on loopback, with a real websocket client and a
streaming HTTP client: when the cache forgets a holder, or a TTL refresh changes their
balances, their open websockets are judged again and closed with 1008 if now refused
(1013 if their balances cannot be read, or not in time); their server-sent events on a
revocable path end. Holders still allowed, and other holders, keep their connections;
one holder's hung read holds up no one else's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx2
import pytest
from fastapi import Depends, FastAPI, Query, WebSocket
from prometheus_client import CollectorRegistry, generate_latest
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tca_gate import (
    CachedBalances,
    Gate,
    GateConfigError,
    Holder,
    InvalidArgumentError,
    StaticBalances,
    TcaGateMiddleware,
)
from tca_gate.fastapi import require_tokens
from tca_gate.gate import GateRules, Verdict
from tca_gate.metrics import Metrics
from tests.support.holdings import COIN, Holdings, echo, from_query, revoking_app
from tests.support.servers import serve

#: Long enough that no sweep runs during a test that proves the change feed's work.
NEVER = 3600.0
#: How long a test waits for what should happen at once (a generous margin, not a target).
PATIENCE = 5.0

SECRET_TOKEN = "alice-oauth-token-secret"

#: A FastAPI route's guard, as the dependency.
Members = Annotated[Verdict, Depends(require_tokens("TOKENLY >= 1"))]


@pytest.fixture
def holdings(tmp_path: Path) -> Holdings:
    return Holdings(
        tmp_path / "holdings.json",
        {
            "alice": {"TOKENLY": 2 * COIN},
            "carol": {"TOKENLY": 5 * COIN},
            "dave": {"TOKENLY": COIN},
            "bob": {"LTBCOIN": 5000 * COIN},
        },
    )


@pytest.fixture
def served(holdings: Holdings) -> Iterator[tuple[str, Gate]]:
    """The app on a memory cache that never refreshes by itself, with no sweep."""
    gate = Gate(CachedBalances(holdings, ttl=NEVER), identity=from_query, recheck=NEVER)
    with serve(revoking_app(gate)) as base:
        yield base, gate
    assert repr(gate.balances.changes) == "ChangeFeed(listeners=0, live=True)"  # type: ignore[attr-defined]


@contextlib.contextmanager
def server_errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """The errors the server logs in the block (uvicorn's logger does not propagate: it is
    listened to directly, once the server has set its logging up)."""
    server_log = logging.getLogger("uvicorn.error")
    errors: list[str] = []
    with caplog.at_level(logging.ERROR):
        server_log.addHandler(caplog.handler)
        try:
            yield errors
        finally:
            server_log.removeHandler(caplog.handler)
    errors.extend(record.getMessage() for record in caplog.records if record.levelno >= 40)


async def opened(url: str) -> ClientConnection:
    socket = await connect(url, open_timeout=PATIENCE)
    assert await asyncio.wait_for(socket.recv(), PATIENCE) == "welcome"
    return socket


async def closed(socket: ClientConnection, skipping: str = "") -> tuple[int | None, str | None]:
    """Wait for the server to close ``socket`` (passing over messages ``skipping``, sent
    before the close): its close code and reason."""
    with pytest.raises(ConnectionClosed) as ended:
        await asyncio.wait_for(messages_until_closed(socket, skipping), PATIENCE)
    received = ended.value.rcvd
    return (received.code, received.reason) if received is not None else (None, None)


async def messages_until_closed(socket: ClientConnection, skipping: str) -> None:
    """Receive until the connection closes, every message ``skipping`` (else fail)."""
    while True:
        message = await socket.recv()
        assert skipping, message
        assert message == skipping


async def echoes(socket: ClientConnection) -> bool:
    await socket.send("still here?")
    return await asyncio.wait_for(socket.recv(), PATIENCE) == "still here?"


async def forget(base: str, *users: str) -> None:
    async with httpx2.AsyncClient() as http:
        answer = await http.post(f"{base}/forget", params=[("user", user) for user in users])
    assert answer.status_code == 200


def test_a_forget_closes_the_websockets_of_a_holder_now_refused_and_no_others(
    served: tuple[str, Gate], holdings: Holdings, caplog: pytest.LogCaptureFixture
) -> None:
    base, _ = served
    chat = base.replace("http://", "ws://") + "/chat"

    async def scenario() -> None:
        alice = [await opened(f"{chat}?user=alice") for _ in range(2)]
        alice.append(await opened(f"{chat}?token={SECRET_TOKEN}&owner=alice"))
        carol, dave = await opened(f"{chat}?user=carol"), await opened(f"{chat}?user=dave")
        holdings.set({"alice": {"TOKENLY": 0}, "carol": {"TOKENLY": COIN}, "dave": {}})
        before = holdings.calls
        await forget(base, "alice", "carol")
        for socket in alice:
            assert await closed(socket) == (1008, "insufficient-tokens")
        assert await echoes(carol)  # judged again, still allowed
        assert await echoes(dave)  # not forgotten: not judged again, though he now holds none
        # one read per holder (alice by name, alice's token, carol), not per socket
        assert holdings.calls - before == 3
        await carol.close()
        await dave.close()

    with caplog.at_level(logging.INFO, logger="tca_gate"):
        asyncio.run(scenario())
    refusals = [
        record.tca_gate  # type: ignore[attr-defined]
        for record in caplog.records
        if record.name == "tca_gate.decisions"
    ]
    assert sorted(fields["identity"].split(":")[0] for fields in refusals) == [
        "token",
        "user",
        "user",
    ]
    assert {fields["outcome"] for fields in refusals} == {"insufficient-tokens"}
    assert SECRET_TOKEN not in caplog.text


def test_an_app_pushing_on_a_websocket_the_gate_closed_meets_a_disconnect_not_an_error(
    served: tuple[str, Gate], holdings: Holdings, caplog: pytest.LogCaptureFixture
) -> None:
    base, _ = served

    async def scenario() -> None:
        alice = await opened(base.replace("http://", "ws://") + "/news?user=alice")
        holdings.set({"alice": {}})
        await forget(base, "alice")
        assert await closed(alice, skipping="news") == (1008, "insufficient-tokens")
        await asyncio.sleep(0.1)  # the app's next sends, after the close

    with server_errors(caplog) as errors:
        asyncio.run(scenario())
    assert errors == []


def test_a_cleared_cache_has_every_open_websocket_judged_again(
    served: tuple[str, Gate], holdings: Holdings
) -> None:
    base, _ = served
    chat = base.replace("http://", "ws://") + "/chat"

    async def scenario() -> None:
        alice, carol = await opened(f"{chat}?user=alice"), await opened(f"{chat}?user=carol")
        dave = await opened(f"{chat}?user=dave")
        holdings.set({"alice": {}, "dave": {"TOKENLY": COIN - 1}})
        async with httpx2.AsyncClient() as http:
            assert (await http.post(f"{base}/clear")).status_code == 200
        assert await closed(alice) == (1008, "insufficient-tokens")
        assert await closed(dave) == (1008, "insufficient-tokens")
        assert await echoes(carol)
        await carol.close()

    asyncio.run(scenario())


def test_a_change_made_on_another_thread_is_handed_to_the_server_s_loop(
    served: tuple[str, Gate], holdings: Holdings
) -> None:
    base, gate = served
    chat = base.replace("http://", "ws://") + "/chat"

    async def scenario() -> None:
        alice = await opened(f"{chat}?user=alice")
        holdings.set({"alice": {}})
        gate.balances.invalidate(Holder.user("alice"))  # type: ignore[attr-defined]
        assert await closed(alice) == (1008, "insufficient-tokens")

    asyncio.run(scenario())  # this thread's loop, not the server's


def test_the_decorator_s_websocket_is_closed_too(
    served: tuple[str, Gate], holdings: Holdings
) -> None:
    base, _ = served
    whales = base.replace("http://", "ws://") + "/whales"

    async def scenario() -> None:
        bob = await opened(f"{whales}?user=bob")
        assert await echoes(bob)
        holdings.set({"bob": {"LTBCOIN": 999 * COIN}})
        await forget(base, "bob")
        assert await closed(bob) == (1008, "insufficient-tokens")

    asyncio.run(scenario())


def test_a_holder_whose_balances_cannot_be_read_after_a_forget_is_told_to_try_again(
    served: tuple[str, Gate], holdings: Holdings
) -> None:
    base, _ = served
    chat = base.replace("http://", "ws://") + "/chat"

    async def scenario() -> None:
        alice = await opened(f"{chat}?user=alice")
        holdings.set({"alice": None})
        await forget(base, "alice")
        assert await closed(alice) == (1013, "balances-unavailable")

    asyncio.run(scenario())


def test_balances_that_cannot_be_read_close_the_socket_only_past_the_cache_s_stale_for(
    holdings: Holdings,
) -> None:
    stale_for = 0.5
    cache = CachedBalances(holdings, ttl=NEVER, stale_for=stale_for)
    gate = Gate(cache, identity=from_query, recheck=0.1)

    async def scenario(base: str) -> None:
        alice = await opened(base.replace("http://", "ws://") + "/chat?user=alice")
        holdings.set({"alice": None})
        calls = holdings.calls
        await forget(base, "alice")
        started = asyncio.get_running_loop().time()
        await asyncio.sleep(0.2)
        assert holdings.calls > calls  # judged again, and unreadable
        assert await echoes(alice)  # kept: within the grace
        assert await closed(alice) == (1013, "balances-unavailable")
        assert asyncio.get_running_loop().time() - started >= stale_for - 0.1

    with serve(revoking_app(gate)) as base:
        asyncio.run(scenario(base))


def test_a_ttl_refresh_that_lowers_the_balances_closes_the_socket_without_a_forget(
    holdings: Holdings,
) -> None:
    ttl, recheck = 0.3, 0.2
    gate = Gate(CachedBalances(holdings, ttl=ttl), identity=from_query, recheck=recheck)

    async def scenario(chat: str) -> None:
        alice, carol = await opened(f"{chat}?user=alice"), await opened(f"{chat}?user=carol")
        holdings.set({"alice": {"TOKENLY": COIN // 2}})
        started = asyncio.get_running_loop().time()
        assert await closed(alice) == (1008, "insufficient-tokens")
        assert asyncio.get_running_loop().time() - started < PATIENCE
        await asyncio.sleep(2 * (ttl + recheck))
        assert await echoes(carol)  # refreshed, unchanged, kept
        await carol.close()

    with serve(revoking_app(gate)) as base:
        asyncio.run(scenario(base.replace("http://", "ws://") + "/chat"))


def test_a_refresh_that_fails_within_stale_for_keeps_the_socket_open(holdings: Holdings) -> None:
    ttl, recheck = 0.2, 0.1
    cache = CachedBalances(holdings, ttl=ttl, stale_for=60.0)
    gate = Gate(cache, identity=from_query, recheck=recheck)

    async def scenario(chat: str) -> None:
        alice = await opened(f"{chat}?user=alice")
        holdings.set({"alice": None})  # Tokenpass is down
        calls = holdings.calls
        await asyncio.sleep(5 * (ttl + recheck))
        assert holdings.calls > calls  # refreshed, and failed
        assert await echoes(alice)  # the stale answer still lets her in
        await alice.close()

    with serve(revoking_app(gate)) as base:
        asyncio.run(scenario(base.replace("http://", "ws://") + "/chat"))


def test_server_sent_events_on_a_revocable_path_end_when_the_holder_is_refused(
    served: tuple[str, Gate], holdings: Holdings
) -> None:
    base, _ = served

    async def read_ticks(http: httpx2.AsyncClient, path: str, user: str) -> tuple[int, bool]:
        """How many events came, and whether the server ended the stream (else the
        client stopped at 40); the holder is lowered and forgotten after 3."""
        seen = 0
        async with http.stream("GET", f"{base}{path}", params={"user": user}) as answer:
            assert answer.status_code == 200
            assert answer.headers["cache-control"] == "private, no-store"
            async for line in answer.aiter_lines():
                seen += line.startswith("data: tick")
                if seen == 3:
                    holdings.set({"alice": {"TOKENLY": 0}})
                    await forget(base, "alice", "carol")
                if seen == 40:
                    return seen, False
        return seen, True

    async def scenario() -> None:
        async with httpx2.AsyncClient(timeout=PATIENCE) as http:
            alice = asyncio.create_task(read_ticks(http, "/ticks", "alice"))
            carol = asyncio.create_task(read_ticks(http, "/ticks", "carol"))
            ticks, ended = await asyncio.wait_for(alice, PATIENCE)
            assert ended  # by the gate, soon after the forget
            assert 3 <= ticks < 40
            assert await asyncio.wait_for(carol, PATIENCE) == (40, False)  # still allowed
            holdings.set({"alice": {"TOKENLY": 2 * COIN}})
            # not revocable: streams on, though lowered and forgotten after 3
            plain = read_ticks(http, "/plain-ticks", "alice")
            assert await asyncio.wait_for(plain, PATIENCE) == (40, False)

    asyncio.run(scenario())


def test_a_long_poll_refused_before_it_answers_gets_the_gate_s_refusal(
    served: tuple[str, Gate], holdings: Holdings
) -> None:
    base, _ = served

    async def scenario() -> httpx2.Response:
        async with httpx2.AsyncClient(timeout=PATIENCE) as http:
            poll = asyncio.create_task(http.get(f"{base}/slow", params={"user": "alice"}))
            await asyncio.sleep(0.3)
            holdings.set({"alice": {"TOKENLY": 0}})
            await forget(base, "alice")
            return await asyncio.wait_for(poll, PATIENCE)

    answer = asyncio.run(scenario())
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient-tokens"
    assert answer.headers["cache-control"] == "private, no-store"


def test_shadow_mode_logs_the_refusal_and_keeps_the_socket(
    holdings: Holdings, caplog: pytest.LogCaptureFixture
) -> None:
    gate = Gate(CachedBalances(holdings), identity=from_query, recheck=NEVER, shadow=True)

    async def scenario(base: str) -> None:
        alice = await opened(base.replace("http://", "ws://") + "/chat?user=alice")
        holdings.set({"alice": {}})
        await forget(base, "alice")
        await asyncio.sleep(0.3)
        assert await echoes(alice)
        await alice.close()

    with (
        caplog.at_level(logging.INFO, logger="tca_gate.decisions"),
        serve(revoking_app(gate)) as base,
    ):
        asyncio.run(scenario(base))
    shadowed = [r.tca_gate for r in caplog.records if r.name == "tca_gate.decisions"]  # type: ignore[attr-defined]
    assert [(fields["outcome"], fields["shadow"]) for fields in shadowed] == [
        ("insufficient-tokens", True)
    ]


@pytest.mark.parametrize("recheck", [0, -1.5, float("nan"), float("inf"), True, "30"])
def test_a_bad_recheck_stops_start_up_naming_it(recheck: object) -> None:
    with pytest.raises(InvalidArgumentError, match="recheck must be a positive number of seconds"):
        Gate(StaticBalances({}), recheck=recheck)  # type: ignore[arg-type]


def test_recheck_defaults_to_the_cache_s_ttl() -> None:
    assert Gate(CachedBalances(StaticBalances({}), ttl=12.5)).recheck == 12.5
    assert Gate(StaticBalances({})).recheck == 30.0


def test_revocable_must_be_true_or_false() -> None:
    with pytest.raises(GateConfigError, match="revocable must be true or false"):
        GateRules({"/feed": {"rule": "TOKENLY >= 1", "revocable": "yes"}})
    rules = GateRules({"/feed": {"rule": "TOKENLY >= 1", "revocable": True}, "/x": "LTBCOIN >= 1"})
    assert [entry.revocable for entry in rules.entries] == [True, False]


def test_in_a_fastapi_app_the_middleware_revokes_a_websocket_route_by_name(
    holdings: Holdings,
) -> None:
    cache = CachedBalances(holdings, ttl=NEVER)
    app = FastAPI()
    app.add_middleware(
        TcaGateMiddleware,
        gate=Gate(cache, identity=from_query, recheck=NEVER),
        rules={"route:lounge": "TOKENLY >= 1"},
    )

    @app.websocket("/lounge")
    async def lounge(websocket: WebSocket) -> None:
        await echo(websocket)

    @app.post("/forget")
    async def forget_users(user: Annotated[list[str], Query()]) -> int:
        return await cache.forget(usernames=user)

    async def scenario(base: str) -> None:
        alice = await opened(base.replace("http://", "ws://") + "/lounge?user=alice")
        holdings.set({"alice": {}})
        await forget(base, "alice")
        assert await closed(alice) == (1008, "insufficient-tokens")

    with serve(app) as base:
        asyncio.run(scenario(base))


def test_the_fastapi_dependency_closes_its_websockets_too(
    holdings: Holdings, caplog: pytest.LogCaptureFixture
) -> None:
    cache = CachedBalances(holdings, ttl=NEVER)
    app = FastAPI()
    app.state.tca_gate = Gate(cache, identity=from_query, recheck=NEVER)

    @app.websocket("/lounge")
    async def lounge(websocket: WebSocket, verdict: Members) -> None:
        await echo(websocket)

    @app.websocket("/news")
    async def news(websocket: WebSocket, verdict: Members) -> None:
        """Pushes without reading: its sends after the close raise, and are not errors."""
        await websocket.accept()
        await websocket.send_text("welcome")
        while True:
            await websocket.send_text("news")
            await asyncio.sleep(0.02)

    @app.post("/forget")
    async def forget_users(user: Annotated[list[str], Query()]) -> int:
        return await cache.forget(usernames=user)

    async def scenario(base: str) -> None:
        ws = base.replace("http://", "ws://")
        alice = await opened(f"{ws}/lounge?user=alice")
        carol = await opened(f"{ws}/lounge?user=carol")
        news = await opened(f"{ws}/news?user=alice")
        holdings.set({"alice": {}})
        await forget(base, "alice", "carol")
        assert await closed(alice) == (1008, "insufficient-tokens")
        assert await closed(news, skipping="news") == (1008, "insufficient-tokens")
        assert await echoes(carol)
        await carol.close()

    with serve(app) as base, server_errors(caplog) as errors:
        asyncio.run(scenario(base))
    assert errors == []
    assert repr(cache.changes) == "ChangeFeed(listeners=0, live=True)"


def test_a_revocation_is_counted_by_the_metrics_without_the_holder(
    served: tuple[str, Gate], holdings: Holdings
) -> None:
    base, _ = served
    chat = base.replace("http://", "ws://") + "/chat"
    registry = CollectorRegistry()

    async def scenario() -> None:
        alice = await opened(f"{chat}?token={SECRET_TOKEN}&owner=alice")
        carol = await opened(f"{chat}?user=carol")
        holdings.set({"alice": {"TOKENLY": 0}})
        await forget(base, "alice", "carol")
        assert await closed(alice) == (1008, "insufficient-tokens")
        assert await echoes(carol)
        await carol.close()

    with Metrics(registry):
        asyncio.run(scenario())
    labels = {"outcome": "insufficient-tokens", "rule": "-", "kind": "websocket"}
    assert registry.get_sample_value("tca_gate_revocations_total", labels) == 1.0
    exposition = generate_latest(registry).decode()
    assert SECRET_TOKEN not in exposition
    assert "alice" not in exposition


def test_a_hung_read_holds_up_no_other_holder_and_is_itself_told_to_try_again(
    holdings: Holdings,
) -> None:
    ttl = recheck = 0.3  # a judgement has until the next sweep: 0.3 s
    gate = Gate(CachedBalances(holdings, ttl=ttl), identity=from_query, recheck=recheck)

    async def scenario(chat: str) -> None:
        alice, hank = await opened(f"{chat}?user=alice"), await opened(f"{chat}?user=hank")
        holdings.hanging.add("hank")  # his next read never answers
        await asyncio.sleep(3 * recheck)  # a sweep is waiting on it
        holdings.set({"alice": {}})  # she sold, with no webhook: only the sweeps tell
        assert await closed(hank) == (1013, "balances-unavailable")
        assert await closed(alice) == (1008, "insufficient-tokens")

    holdings.set({"hank": {"TOKENLY": COIN}})
    with serve(revoking_app(gate)) as base:
        asyncio.run(scenario(base.replace("http://", "ws://") + "/chat"))


def test_changes_heard_while_a_holder_is_judged_make_one_more_judgement_not_one_each(
    holdings: Holdings,
) -> None:
    recheck = 1.0  # also how long a judgement may take
    cache = CachedBalances(holdings, ttl=NEVER, stale_for=60.0)  # a hung read keeps him in
    gate = Gate(cache, identity=from_query, recheck=recheck)

    async def scenario(base: str) -> None:
        hank = await opened(base.replace("http://", "ws://") + "/chat?user=hank")
        holdings.hanging.add("hank")
        before = holdings.calls
        for _ in range(5):
            await forget(base, "hank")  # each drops the read under way: a new one is wanted
        await asyncio.sleep(recheck / 2)
        assert holdings.calls - before == 1  # one judgement under way, the rest wanted
        await asyncio.sleep(recheck)  # it timed out; the sweep's wish joined theirs
        assert holdings.calls - before == 2
        assert await echoes(hank)  # within stale_for
        await hank.close()

    holdings.set({"hank": {"TOKENLY": COIN}})
    with serve(revoking_app(gate)) as base:
        asyncio.run(scenario(base))


def test_a_websocket_let_in_on_a_stale_answer_has_only_what_is_left_of_the_grace(
    holdings: Holdings,
) -> None:
    ttl, stale_for, recheck = 0.2, 2.0, 0.1
    cache = CachedBalances(holdings, ttl=ttl, stale_for=stale_for)
    gate = Gate(cache, identity=from_query, recheck=recheck)

    async def scenario(chat: str) -> float:
        await (await opened(f"{chat}?user=alice")).close()  # her balances, read afresh
        read = asyncio.get_running_loop().time()
        holdings.set({"alice": None})  # Tokenpass is down from now on
        await asyncio.sleep(1.5)
        alice = await opened(f"{chat}?user=alice")  # let in on the answer 1.5 s old
        assert await closed(alice) == (1013, "balances-unavailable")
        return asyncio.get_running_loop().time() - read

    with serve(revoking_app(gate)) as base:
        kept = asyncio.run(scenario(base.replace("http://", "ws://") + "/chat"))
    # the grace runs from the read, not the handshake (1.5 + 2.0 s): kept until the cache
    # stopped serving the answer (ttl + stale_for after it was read), and a sweep
    assert stale_for <= kept < stale_for + 1.0


@pytest.mark.parametrize("path", ["/ticks", "/grouped-ticks"])
@pytest.mark.parametrize("spec", ["2.3", "2.4"])
def test_a_revoked_stream_s_app_stops_quietly_under_either_asgi_spec(
    holdings: Holdings, caplog: pytest.LogCaptureFixture, spec: str, path: str
) -> None:
    """uvicorn says ASGI 2.3 (Starlette then also listens for the client leaving); under
    2.4, Starlette's ``StreamingResponse`` stops only when a send raises ``OSError``."""
    gate = Gate(CachedBalances(holdings, ttl=NEVER), identity=from_query, recheck=NEVER)
    app = revoking_app(gate)
    app_returned = threading.Event()

    async def declaring_spec(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "asgi": {**scope["asgi"], "spec_version": spec}}
        try:
            await app(scope, receive, send)
        finally:
            if scope.get("path") == path:
                app_returned.set()

    async def scenario(base: str) -> None:
        seen = 0
        async with (
            httpx2.AsyncClient(timeout=PATIENCE) as http,
            http.stream("GET", f"{base}{path}", params={"user": "alice"}) as answer,
        ):
            async for line in answer.aiter_lines():
                seen += line.startswith("data: tick")
                if seen == 3:
                    holdings.set({"alice": {}})
                    await forget(base, "alice")
                assert seen < 40, "the gate did not end the stream"
        assert await asyncio.to_thread(app_returned.wait, PATIENCE)

    with serve(declaring_spec) as base, server_errors(caplog) as errors:
        asyncio.run(scenario(base))
    assert errors == []
