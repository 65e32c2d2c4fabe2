"""A webhook whose work fails gives its replay claim back: the sender's retry of the same
signed event (as a 503 asks) is accepted, not refused as a replay; once the work is done,
or for a body that can never be accepted, the claim holds. Served by uvicorn on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import httpx2
import pytest
import redis
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tca_gate import MemoryReplayStore, RedisReplayStore, sign_tokenly_request
from tca_gate.balances import BalanceWebhook, CachedBalances, StaticBalances
from tca_gate.delivery import DeliveryNotification, DeliveryWebhook
from tca_gate.signing.replay import AsyncReplayStore, ReplayStore
from tests.support.servers import serve

TOKEN, SECRET = "webhook-sender", "webhook-secret-never-shown"
EVENT = {"event": "balances.changed", "usernames": ["bob"]}
NOTIFICATION = {
    "event": "delivery.fulfilled",
    "delivery": {
        "id": "d1",
        "sourceUuid": "s1",
        "destination": "user:bob",
        "token": "SOUP",
        "quantity": "500000000",
        "deliveryDate": None,
        "refData": None,
        "pseudo": False,
        "holdPromise": False,
        "state": 2,
        "complete": False,
        "deliveryTx": "f00d",
        "createdAt": "2016-10-21T18:43:21+0000",
        "updatedAt": "2016-10-21T18:43:21+0000",
    },
}


class FlakyCache(CachedBalances):
    """A cache (of nobody's balances) whose first ``forget`` fails (a Redis blip), then works."""

    def __init__(self) -> None:
        super().__init__(StaticBalances({}))
        self.forgotten: list[tuple[str, ...]] = []
        self.calls = 0

    async def forget(self, *, usernames: Iterable[str] = (), addresses: Iterable[str] = ()) -> int:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("redis blip")
        self.forgotten.append(tuple(usernames))
        return 1


class Resender:
    """Signs one event once, then POSTs those very bytes and headers as often as asked."""

    def __init__(self, http: httpx2.Client, url: str, payload: dict[str, Any]) -> None:
        self.http = http
        self.url = url
        self.body = json.dumps(payload, separators=(",", ":"))
        self.headers = sign_tokenly_request("POST", url, payload, TOKEN, SECRET)
        self.headers["Content-Type"] = "application/json"

    def post(self, url: str | None = None) -> httpx2.Response:
        return self.http.post(url or self.url, content=self.body, headers=self.headers)


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=10) as client:
        yield client


def served(hook: ASGIApp) -> Any:
    return serve(Starlette(routes=[Route("/hooks", hook)]))


class Caught:
    """The app's own error page: records what ``app`` raised and answers 500 (uvicorn
    would drop the connection after an app error, which a test cannot tell apart)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.errors: list[Exception] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except RuntimeError as error:
            self.errors.append(error)
            await PlainTextResponse("the app failed", 500)(scope, receive, send)


def test_a_503_from_the_cache_lets_the_same_signed_event_through_once_resent(
    http: httpx2.Client,
) -> None:
    cache = FlakyCache()
    hook = BalanceWebhook(
        cache, api_token=TOKEN, api_secret=SECRET, replay_store=MemoryReplayStore()
    )
    with served(hook) as base:
        sender = Resender(http, f"{base}/hooks", EVENT)
        first = sender.post()
        assert first.status_code == 503
        assert first.headers["Retry-After"]
        assert first.json() == {
            "error": "cache-unavailable",
            "message": "the balance cache could not forget the holders; send the event again",
        }
        again = sender.post()
        assert again.status_code == 200
        assert again.json() == {"event": "balances.changed", "forgotten": 1}
        assert cache.forgotten == [("bob",)]
        replayed = sender.post()
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "replayed-request"
    assert cache.calls == 2


def test_workers_sharing_redis_accept_the_retry_on_another_worker(
    http: httpx2.Client, redis_client: redis.Redis
) -> None:
    caches = [FlakyCache(), FlakyCache()]
    caches[1].calls = 1  # the second worker's cache works
    hooks = [
        BalanceWebhook(
            cache, api_token=TOKEN, api_secret=SECRET, replay_store=RedisReplayStore(redis_client)
        )
        for cache in caches
    ]
    with served(hooks[0]) as first_base, served(hooks[1]) as second_base:
        # Both workers sit behind one public URL, the one the sender signs.
        for hook in hooks:
            hook.public_url = "http://hooks.example"
        sender = Resender(http, "http://hooks.example/hooks", EVENT)
        assert sender.post(f"{first_base}/hooks").status_code == 503
        assert redis_client.keys("tca-gate:replay:*") == []
        assert sender.post(f"{second_base}/hooks").status_code == 200
        replayed = sender.post(f"{first_base}/hooks")
    assert replayed.status_code == 401
    assert len(redis_client.keys("tca-gate:replay:*")) == 1
    assert caches[1].forgotten == [("bob",)]


@pytest.mark.parametrize("flavor", ["sync", "async"])
def test_a_failing_notification_handler_lets_the_same_notification_through_once_resent(
    http: httpx2.Client, flavor: str
) -> None:
    handled: list[DeliveryNotification] = []

    def handle(note: DeliveryNotification) -> None:
        handled.append(note)
        if len(handled) == 1:
            raise RuntimeError("the app's database is down")

    async def handle_async(note: DeliveryNotification) -> None:
        handle(note)

    hook = DeliveryWebhook(
        api_token=TOKEN,
        api_secret=SECRET,
        replay_store=MemoryReplayStore(),
        on_notification=handle if flavor == "sync" else handle_async,
    )
    caught = Caught(hook)
    with served(caught) as base:
        sender = Resender(http, f"{base}/hooks", NOTIFICATION)
        assert sender.post().status_code == 500
        assert [str(error) for error in caught.errors] == ["the app's database is down"]
        again = sender.post()
        assert again.status_code == 200
        assert again.json() == {"event": "delivery.fulfilled", "delivery": "d1", "forgotten": 0}
        replayed = sender.post()
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "replayed-request"
    assert [note.delivery.id for note in handled] == ["d1", "d1"]


class Unreleasable:
    """A store that claims but whose ``release`` fails (Redis gone after the claim)."""

    def __init__(self) -> None:
        self.inner = MemoryReplayStore()

    def claim(self, key: str, ttl: float) -> bool:
        return self.inner.claim(key, ttl)

    def release(self, key: str) -> None:
        raise ConnectionError("redis went away")


@pytest.mark.parametrize("store", [Unreleasable(), MemoryReplayStore()], ids=["failing", "memory"])
def test_the_answer_stays_the_same_whether_the_release_works(
    http: httpx2.Client, store: ReplayStore | AsyncReplayStore
) -> None:
    hook = BalanceWebhook(FlakyCache(), api_token=TOKEN, api_secret=SECRET, replay_store=store)
    with served(hook) as base:
        answer = Resender(http, f"{base}/hooks", EVENT).post()
    assert answer.status_code == 503
    assert answer.json()["error"] == "cache-unavailable"


def test_a_body_refused_as_malformed_keeps_its_claim(http: httpx2.Client) -> None:
    cache = FlakyCache()
    hook = BalanceWebhook(
        cache, api_token=TOKEN, api_secret=SECRET, replay_store=MemoryReplayStore()
    )
    with served(hook) as base:
        sender = Resender(http, f"{base}/hooks", {"event": "balances.changed"})
        first = sender.post()
        assert first.status_code == 400
        assert first.json()["error"] == "malformed-body"
        again = sender.post()
    assert again.status_code == 401
    assert again.json()["error"] == "replayed-request"
    assert cache.calls == 0
