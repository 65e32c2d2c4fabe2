"""The sandbox sends signed balance-change webhooks: promises made, changed and withdrawn,
balances set by an admin; an app's ``BalanceWebhook`` accepts them and its cache forgets."""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from tca_gate import InvalidArgumentError
from tca_gate.balances import CachedBalances, Holder, StaticBalances, TokenpassBalances
from tca_gate.balances._webhook import BalanceWebhook
from tca_gate.sandbox import SeedError, create_app, load_seed, parse_seed
from tca_gate.tokenpass import AsyncTokenpassClient
from tests.support.redis_server import free_port
from tests.support.sandboxes import Sandbox, running_sandbox
from tests.support.servers import serve

TREASURY = "18BF18zG8x13tXrJ6H9bbbFAGbRofqK6y8"
ALICE_ADDRESS = "12Fengv9kjnt69gb27oXESKnURwBfs9P34"
BOB_ADDRESS = "14zYNGnoh8C9MJpqAS2QEjgUYUG2TA91y3"
CLIENT_ID, CLIENT_SECRET = "demo-app", "demo-app-secret"
WAIT = 15.0


class RecordingCache(CachedBalances):
    """A cache (of nobody's balances) that records what it is told to forget."""

    def __init__(self) -> None:
        super().__init__(StaticBalances({}))
        self.forgotten: list[tuple[tuple[str, ...], tuple[str, ...]]] = []

    async def forget(self, *, usernames: Iterable[str] = (), addresses: Iterable[str] = ()) -> int:
        self.forgotten.append((tuple(usernames), tuple(addresses)))
        return 1


class Tap:
    """ASGI middleware putting (status, JSON body) of every POST it passes on ``received``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.received: queue.Queue[tuple[int, Any]] = queue.Queue()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        status: list[int] = []

        async def tapped_receive() -> Message:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        async def tapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, tapped_receive, tapped_send)
        self.received.put((status[0], json.loads(b"".join(chunks))))

    def next(self) -> tuple[int, Any]:
        return self.received.get(timeout=WAIT)


def receiver(secret: str = CLIENT_SECRET) -> tuple[Tap, RecordingCache]:
    cache = RecordingCache()
    hook = BalanceWebhook(cache, api_token=CLIENT_ID, api_secret=secret)
    return Tap(Starlette(routes=[Route("/hooks/balances", hook)])), cache


@pytest.fixture(scope="module")
def hooked() -> Iterator[tuple[Sandbox, Tap, RecordingCache]]:
    """The demo sandbox sending the demo app's webhooks to a ``BalanceWebhook``."""
    tap, cache = receiver()
    with serve(tap) as base:
        urls = {CLIENT_ID: f"{base}/hooks/balances"}
        with running_sandbox(webhook_urls=urls) as sandbox:
            yield sandbox, tap, cache


def promise(sandbox: Sandbox, destination: str, quantity: int = 120_000_000_000) -> httpx2.Response:
    body = {
        "source": TREASURY,
        "destination": destination,
        "asset": "LTBCOIN",
        "quantity": quantity,
        "expiration": None,
    }
    return sandbox.api("POST", "tca/provisional/tx", body=body)


def test_promises_made_changed_and_withdrawn_are_each_announced(
    hooked: tuple[Sandbox, Tap, RecordingCache],
) -> None:
    sandbox, tap, cache = hooked
    made = promise(sandbox, "user:BOB")
    assert made.status_code == 200
    promise_id = made.json()["tx"]["promise_id"]
    status, event = tap.next()
    ids = [event["id"]]
    assert status == 200  # the signature was accepted by BalanceWebhook
    assert event["event"] == "promise.created"
    assert (event["usernames"], event["addresses"]) == (["bob"], [TREASURY])
    assert event["promise"] == made.json()["tx"]
    assert cache.forgotten[-1] == (("bob",), (TREASURY,))

    changed = sandbox.api("PATCH", f"tca/provisional/tx/{promise_id}", body={"quantity": 5})
    assert changed.status_code == 200
    status, event = tap.next()
    ids.append(event["id"])
    assert (status, event["event"], event["promise"]["quantity"]) == (200, "promise.updated", 5)

    assert sandbox.api("DELETE", f"tca/provisional/tx/{promise_id}").status_code == 200
    status, event = tap.next()
    assert (status, event["event"]) == (200, "promise.deleted")
    assert event["promise"]["promise_id"] == promise_id
    assert len({*ids, event["id"]}) == 3  # each event has its own id


def test_a_promise_to_an_address_names_the_address_and_its_owner(
    hooked: tuple[Sandbox, Tap, RecordingCache],
) -> None:
    sandbox, tap, _ = hooked
    made = promise(sandbox, BOB_ADDRESS, quantity=1)
    assert made.status_code == 200
    _, event = tap.next()
    assert (event["usernames"], event["addresses"]) == (["bob"], [TREASURY, BOB_ADDRESS])
    sandbox.api("DELETE", f"tca/provisional/tx/{made.json()['tx']['promise_id']}")
    assert tap.next()[1]["event"] == "promise.deleted"


def test_a_refused_call_announces_nothing(hooked: tuple[Sandbox, Tap, RecordingCache]) -> None:
    sandbox, tap, _ = hooked
    too_much = promise(sandbox, "user:carol", quantity=10**17)
    assert too_much.status_code == 422
    made = promise(sandbox, "user:carol", quantity=1)
    _, event = tap.next()  # the next event is the second call's
    assert event["promise"]["promise_id"] == made.json()["tx"]["promise_id"]
    assert event["usernames"] == ["carol"]
    sandbox.api("DELETE", f"tca/provisional/tx/{made.json()['tx']['promise_id']}")
    tap.next()


def test_an_admin_setting_a_balance_tells_every_app(
    hooked: tuple[Sandbox, Tap, RecordingCache],
) -> None:
    sandbox, tap, _ = hooked
    sandbox.set_balance(ALICE_ADDRESS, "TOKENLY", tokens=2)
    status, event = tap.next()
    assert (status, event["event"]) == (200, "balances.changed")
    assert (event["usernames"], event["addresses"]) == (["alice"], [ALICE_ADDRESS])
    assert event["balance"] == {
        "address": ALICE_ADDRESS,
        "asset": "TOKENLY",
        "balance_sat": 200_000_000,
    }


def test_an_unreachable_webhook_is_logged_and_never_delays_the_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/hooks/balances"
    with (
        caplog.at_level(logging.WARNING, logger="tca_gate.sandbox.webhooks"),
        running_sandbox(webhook_urls={CLIENT_ID: url}) as sandbox,
    ):
        assert promise(sandbox, "user:bob", quantity=1).status_code == 200
        deadline = time.monotonic() + WAIT
        while "failed" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert f"webhook promise.created to {url} failed" in caplog.text
    assert CLIENT_SECRET not in caplog.text


def test_a_webhook_that_refuses_the_signature_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    tap, cache = receiver(secret="not-the-demo-secret")
    with (
        caplog.at_level(logging.WARNING, logger="tca_gate.sandbox.webhooks"),
        serve(tap) as base,
        running_sandbox(webhook_urls={CLIENT_ID: f"{base}/hooks/balances"}) as sandbox,
    ):
        sandbox.set_balance(BOB_ADDRESS, "LTBCOIN", tokens=8800)
        status, _ = tap.next()
        deadline = time.monotonic() + WAIT
        while "refused" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert status == 401
    assert cache.forgotten == []
    assert "webhook balances.changed to" in caplog.text
    assert "refused: HTTP 401" in caplog.text


def test_the_seed_may_name_a_webhook_and_start_up_may_replace_it() -> None:
    tap, cache = receiver()
    with serve(tap) as base:
        seed = load_seed()
        hooked_client = dataclasses.replace(seed.clients[0], webhook_url=f"{base}/hooks/balances")
        seed = dataclasses.replace(seed, clients=(hooked_client,))
        with running_sandbox(seed) as sandbox:
            sandbox.set_balance(TREASURY, "TOKENLY", tokens=100)
            status, event = tap.next()
        assert (status, event["usernames"], event["addresses"]) == (200, [], [TREASURY])
        with running_sandbox(seed, webhook_urls={CLIENT_ID: None}) as sandbox:
            sandbox.set_balance(TREASURY, "TOKENLY", tokens=100)
            assert promise(sandbox, "user:bob", quantity=1).status_code == 200
        with running_sandbox(seed) as sandbox:  # the tap still hears the next sandbox
            sandbox.set_balance(TREASURY, "TOKENLY", tokens=99)
            assert tap.next()[1]["balance"]["balance_sat"] == 9_900_000_000
    assert len(cache.forgotten) == 2


def test_a_seed_webhook_url_is_checked() -> None:
    text = (
        '[[client]]\nclient_id = "a"\nclient_secret = "s"\nname = "A"\n'
        'redirect_uris = ["http://127.0.0.1/cb"]\nwebhook_url = "{url}"\n'
    )
    parsed = parse_seed(text.replace("{url}", "https://app.example/hooks"))
    assert parsed.clients[0].webhook_url == "https://app.example/hooks"
    with pytest.raises(SeedError, match=r"client\[1\]: webhook_url: must be an http"):
        parse_seed(text.replace("{url}", "ftp://app.example/hooks"))


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        ({"no-such-app": "http://127.0.0.1:9/h"}, "names the app 'no-such-app'"),
        ({CLIENT_ID: "127.0.0.1:9/h"}, r"webhook_urls\['demo-app'\] must be an http"),
    ],
)
def test_start_up_webhook_urls_are_checked(urls: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        create_app(webhook_urls=urls)


def test_a_promise_reaches_the_apps_cache_through_the_webhook_end_to_end() -> None:
    """Bob is short of the demo rule; the app has cached his balances for five minutes;
    a promise in the sandbox sends a webhook, the app's cache forgets him, and the
    next read shows what he was promised."""
    sandbox_port = free_port()
    client = AsyncTokenpassClient(f"http://127.0.0.1:{sandbox_port}", CLIENT_ID, CLIENT_SECRET)
    forgotten = threading.Event()
    bob: dict[str, Holder] = {}

    class Announcing(CachedBalances):
        """The app's cache: forgets as the webhook asks, then says so."""

        async def forget(
            self, *, usernames: Iterable[str] = (), addresses: Iterable[str] = ()
        ) -> int:
            dropped = await super().forget(usernames=usernames, addresses=addresses)
            forgotten.set()
            return dropped

    cache = Announcing(TokenpassBalances(client), ttl=300.0)

    async def balances(request: Request) -> JSONResponse:
        return JSONResponse(dict(await cache.balances(bob["holder"])))

    async def close(request: Request) -> Response:
        await client.aclose()
        return Response(status_code=204)

    app = Starlette(
        routes=[
            Route("/balances", balances),
            Route("/close", close, methods=["POST"]),
            Route(
                "/hooks/balances",
                BalanceWebhook(cache, api_token=CLIENT_ID, api_secret=CLIENT_SECRET),
            ),
        ]
    )
    tap = Tap(app)
    with serve(tap) as base, httpx2.Client(base_url=base) as http:
        hooks = {CLIENT_ID: f"{base}/hooks/balances"}
        with running_sandbox(port=sandbox_port, webhook_urls=hooks) as sandbox:
            token = sandbox.access_token("bob", ["user", "tca"])
            bob["holder"] = Holder.token(token, owner="bob")
            assert http.get("/balances").json() == {"LTBCOIN": 880_000_000_000}
            assert promise(sandbox, "user:bob").status_code == 200
            assert forgotten.wait(WAIT)
            status, event = tap.next()
            assert (status, event["event"]) == (200, "promise.created")
            assert http.get("/balances").json() == {"LTBCOIN": 1_000_000_000_000}
        assert http.post("/close").status_code == 204
    assert cache.stats.upstream_calls == 2
