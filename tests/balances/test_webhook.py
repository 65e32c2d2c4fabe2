"""``BalanceWebhook`` served by uvicorn over loopback: signed events make the cache forget
the holders they name; bad signatures, bodies and methods are refused with the reason."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from tca_gate import InvalidArgumentError, MemoryReplayStore, sign_tokenly_request
from tca_gate.balances import (
    BalanceUnavailableError,
    CachedBalances,
    Holder,
    RedisCachedBalances,
    StaticBalances,
)
from tca_gate.balances._webhook import BalanceWebhook, read_event
from tca_gate.signing.tokenly._scheme import tokenly_signature
from tests.support.redis_server import free_port
from tests.support.servers import serve

TOKEN, SECRET = "webhook-sender", "webhook-secret-never-shown"
SOURCE = "18BF18zG8x13tXrJ6H9bbbFAGbRofqK6y8"
BOB_ADDRESS = "14zYNGnoh8C9MJpqAS2QEjgUYUG2TA91y3"


class RecordingCache(CachedBalances):
    """A cache (of nobody's balances) that records what it is told to forget; fails with
    ``failure`` when set."""

    def __init__(self) -> None:
        super().__init__(StaticBalances({}))
        self.forgotten: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        self.failure: Exception | None = None

    async def forget(self, *, usernames: Iterable[str] = (), addresses: Iterable[str] = ()) -> int:
        if self.failure is not None:
            raise self.failure
        self.forgotten.append((tuple(usernames), tuple(addresses)))
        return 7


class Sender:
    """Signs and POSTs events to one webhook URL as the service would."""

    def __init__(self, http: httpx2.Client, url: str) -> None:
        self.http = http
        self.url = url

    def post(
        self,
        payload: Mapping[str, Any],
        *,
        token: str = TOKEN,
        secret: str = SECRET,
        body: str | None = None,
        url: str | None = None,
    ) -> httpx2.Response:
        url = url or self.url
        headers = sign_tokenly_request("POST", url, payload, token, secret)
        text = json.dumps(payload, separators=(",", ":")) if body is None else body
        headers["Content-Type"] = "application/json"
        return self.http.post(url, content=text, headers=headers)


def app_for(*webhooks: tuple[str, BalanceWebhook]) -> Starlette:
    return Starlette(routes=[Route(path, hook) for path, hook in webhooks])


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[RecordingCache, Sender, Sender]]:
    """One server: a plain route, a mounted one, and one with a replay store."""
    cache = RecordingCache()
    plain = BalanceWebhook(cache, api_token=TOKEN, api_secret=SECRET)
    guarded = BalanceWebhook(
        cache, api_token=TOKEN, api_secret=SECRET, replay_store=MemoryReplayStore()
    )
    app = Starlette(
        routes=[
            Route("/hooks/balances", plain),
            Route("/hooks/once", guarded),
            Mount("/mounted/hook", app=plain),
        ]
    )
    with serve(app) as base, httpx2.Client(timeout=10) as http:
        yield cache, Sender(http, f"{base}/hooks/balances"), Sender(http, f"{base}/hooks/once")


@pytest.fixture
def hook(
    recorded: tuple[RecordingCache, Sender, Sender],
) -> tuple[RecordingCache, Sender]:
    cache, sender, _ = recorded
    cache.forgotten.clear()
    cache.failure = None
    return cache, sender


def test_an_event_naming_holders_makes_the_cache_forget_them(
    hook: tuple[RecordingCache, Sender],
) -> None:
    cache, sender = hook
    answer = sender.post(
        {
            "event": "balances.changed",
            "usernames": ["bob", "Alice", "bob"],
            "addresses": [BOB_ADDRESS],
            "note": "details are welcome",
        }
    )
    assert answer.status_code == 200
    assert answer.json() == {"event": "balances.changed", "forgotten": 7}
    assert cache.forgotten == [(("bob", "Alice"), (BOB_ADDRESS,))]


def test_a_promise_as_tokenpass_returns_it_names_its_source_and_destination(
    hook: tuple[RecordingCache, Sender],
) -> None:
    cache, sender = hook
    promise = {
        "promise_id": 42,
        "source": SOURCE,
        "destination": "user:bob",
        "asset": "LTBCOIN",
        "quantity": 120000000000,
        "expiration": None,
        "pseudo": False,
    }
    for event in ("promise.created", "promise.updated", "promise.deleted"):
        assert sender.post({"event": event, "promise": promise}).status_code == 200
    to_address = {**promise, "destination": BOB_ADDRESS}
    assert sender.post({"event": "promise.created", "promise": to_address}).status_code == 200
    assert cache.forgotten == [(("bob",), (SOURCE,))] * 3 + [((), (SOURCE, BOB_ADDRESS))]


def test_a_token_delivery_names_its_destination(hook: tuple[RecordingCache, Sender]) -> None:
    cache, sender = hook
    delivery = {
        "id": "93f5de16-693b-416e-8d63-2368f2b34a44",
        "sourceUuid": "9793f526-d01b-4a48-9569-0a72a3096b06",
        "destination": BOB_ADDRESS,
        "token": "SOUP",
        "quantity": 500000000,
        "state": 1,
    }
    assert sender.post({"event": "delivery.created", "delivery": delivery}).status_code == 200
    to_user = {**delivery, "destination": "user:carol"}
    answer = sender.post({"event": "delivery.fulfilled", "delivery": to_user})
    assert answer.status_code == 200
    assert cache.forgotten == [((), (BOB_ADDRESS,)), (("carol",), ())]


def test_the_body_as_sent_may_be_what_was_signed(hook: tuple[RecordingCache, Sender]) -> None:
    cache, sender = hook
    payload = {"event": "balances.changed", "usernames": ["bob"]}
    pretty = json.dumps(payload, indent=2)
    headers = sign_tokenly_request("POST", sender.url, None, TOKEN, SECRET)
    # signed over the text as sent, as the service's own examples sign
    message = f"POST\n{sender.url}\n{pretty}\n{TOKEN}\n{headers['X-Tokenly-Auth-Nonce']}"
    headers["X-Tokenly-Auth-Signature"] = tokenly_signature(message, SECRET)
    answer = sender.http.post(sender.url, content=pretty, headers=headers)
    assert answer.status_code == 200
    assert cache.forgotten == [(("bob",), ())]


def test_a_mounted_webhook_checks_the_full_path_signed(
    hook: tuple[RecordingCache, Sender],
) -> None:
    cache, sender = hook
    mounted = sender.url.replace("/hooks/balances", "/mounted/hook/")
    answer = sender.post({"event": "balances.changed", "usernames": ["bob"]}, url=mounted)
    assert answer.status_code == 200
    assert cache.forgotten == [(("bob",), ())]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"secret": "a-wrong-secret"}, "bad-signature"),
        ({"token": "someone-else"}, "unknown-token"),
        ({"body": '{"event":"balances.changed","usernames":["mallory"]}'}, "bad-signature"),
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_forgotten(
    hook: tuple[RecordingCache, Sender], change: dict[str, str], reason: str
) -> None:
    cache, sender = hook
    answer = sender.post({"event": "balances.changed", "usernames": ["bob"]}, **change)
    assert answer.status_code == 401
    assert answer.json()["error"] == reason
    assert SECRET not in answer.text
    assert cache.forgotten == []


def test_an_unsigned_request_is_refused_before_its_body_is_read(
    hook: tuple[RecordingCache, Sender],
) -> None:
    cache, sender = hook
    answer = sender.http.post(sender.url, content=b"not json")
    assert answer.status_code == 401
    assert answer.json()["error"] == "missing-header"
    assert cache.forgotten == []


def test_an_old_nonce_is_refused() -> None:
    cache = RecordingCache()
    hook = BalanceWebhook(cache, api_token=TOKEN, api_secret=SECRET, clock=lambda: 4_000_000_000.0)
    with serve(app_for(("/hook", hook))) as base, httpx2.Client() as http:
        answer = Sender(http, f"{base}/hook").post(
            {"event": "balances.changed", "usernames": ["b"]}
        )
    assert answer.status_code == 401
    assert answer.json()["error"] == "stale-nonce"
    assert cache.forgotten == []


def test_a_signed_request_is_accepted_once_with_a_replay_store(
    recorded: tuple[RecordingCache, Sender, Sender],
) -> None:
    cache, _, once = recorded
    cache.forgotten.clear()
    payload = {"event": "balances.changed", "usernames": ["bob"]}
    headers = sign_tokenly_request("POST", once.url, payload, TOKEN, SECRET)
    text = json.dumps(payload, separators=(",", ":"))
    first = once.http.post(once.url, content=text, headers=headers)
    again = once.http.post(once.url, content=text, headers=headers)
    assert (first.status_code, again.status_code) == (200, 401)
    assert again.json()["error"] == "replayed-request"
    assert cache.forgotten == [(("bob",), ())]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_not_allowed(hook: tuple[RecordingCache, Sender], method: str) -> None:
    _, sender = hook
    answer = sender.http.request(method, sender.url)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([1, 2], "body"),
        ({"usernames": ["bob"]}, "event"),
        ({"event": "promise", "usernames": ["bob"]}, "event"),
        ({"event": "balances.changed"}, "usernames"),
        ({"event": "balances.changed", "usernames": "bob"}, "usernames"),
        ({"event": "balances.changed", "usernames": ["bob", ""]}, "usernames[1]"),
        ({"event": "balances.changed", "addresses": ["1 A"]}, "addresses[0]"),
        ({"event": "balances.changed", "usernames": ["a" * 129]}, "usernames[0]"),
        ({"event": "promise.created", "promise": "42"}, "promise"),
        ({"event": "promise.created", "promise": {"destination": 5}}, "promise.destination"),
        ({"event": "promise.created", "promise": {"source": "user:"}}, "promise.source"),
        ({"event": "delivery.created", "delivery": {"destination": None}}, "usernames"),
        ({"event": "balances.changed", "addresses": ["1A"] * 1001}, "addresses"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field(
    hook: tuple[RecordingCache, Sender], payload: Any, field: str
) -> None:
    cache, sender = hook
    headers = sign_tokenly_request("POST", sender.url, None, TOKEN, SECRET)
    text = json.dumps(payload)
    message = f"POST\n{sender.url}\n{text}\n{TOKEN}\n{headers['X-Tokenly-Auth-Nonce']}"
    headers["X-Tokenly-Auth-Signature"] = tokenly_signature(message, SECRET)
    answer = sender.http.post(sender.url, content=text, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"] == "malformed-body"
    assert answer.json()["field"] == field
    assert answer.json()["message"].startswith(f"{field}: ")
    assert cache.forgotten == []


def test_a_body_that_is_not_json_is_refused_once_signed(
    hook: tuple[RecordingCache, Sender],
) -> None:
    _, sender = hook
    answer = sender.post({}, body="{not json")  # signed over {}, as for no parameters
    assert (answer.status_code, answer.json()["field"]) == (400, "body")
    headers = sign_tokenly_request("POST", sender.url, None, TOKEN, SECRET)
    message = f"POST\n{sender.url}\n{{not json\n{TOKEN}\n{headers['X-Tokenly-Auth-Nonce']}"
    headers["X-Tokenly-Auth-Signature"] = tokenly_signature(message, SECRET)
    answer = sender.http.post(sender.url, content="{not json", headers=headers)
    assert (answer.status_code, answer.json()["field"]) == (400, "body")


def test_a_body_too_large_is_refused(hook: tuple[RecordingCache, Sender]) -> None:
    _, sender = hook
    names = [f"user{n:07d}" for n in range(8000)]
    answer = sender.post({"event": "balances.changed", "usernames": names})
    assert answer.status_code == 413


def test_a_cache_that_cannot_forget_answers_503(
    hook: tuple[RecordingCache, Sender], caplog: pytest.LogCaptureFixture
) -> None:
    cache, sender = hook
    cache.failure = BalanceUnavailableError("the Redis balance cache failed (ConnectionError)")
    with caplog.at_level(logging.WARNING, logger="tca_gate.webhook"):
        answer = sender.post({"event": "balances.changed", "usernames": ["bob"]})
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["error"] == "cache-unavailable"
    assert "could not forget" in caplog.text
    assert SECRET not in caplog.text


def test_the_cache_forgets_for_real_in_memory() -> None:
    source = StaticBalances(
        {
            "users": {"bob": {"public": {"LTBCOIN": 1}}, "carol": {"public": {}}},
            "tokens": {"bob-token": "bob"},
            "addresses": {BOB_ADDRESS: {"LTBCOIN": 1}},
        }
    )
    cache = CachedBalances(source)
    holders = [
        Holder.user("bob"),
        Holder.user("carol"),
        Holder.token("bob-token", owner="bob"),
        Holder.addresses([BOB_ADDRESS]),
    ]

    async def fill() -> None:
        for holder in holders:
            await cache.balances(holder)

    asyncio.run(fill())
    hook = BalanceWebhook(cache, api_token=TOKEN, api_secret=SECRET)
    with serve(app_for(("/hook", hook))) as base, httpx2.Client() as http:
        sender = Sender(http, f"{base}/hook")
        answer = sender.post({"event": "promise.created", "usernames": ["BOB"]})
        assert answer.json() == {"event": "promise.created", "forgotten": 2}
        answer = sender.post({"event": "delivery.created", "addresses": [BOB_ADDRESS]})
        assert answer.json() == {"event": "delivery.created", "forgotten": 1}
    assert len(cache) == 1  # carol's


def test_a_redis_cache_that_is_down_answers_503_and_one_that_is_up_forgets(
    redis_url: str,
) -> None:
    dead = RedisCachedBalances.from_url(StaticBalances({}), f"redis://127.0.0.1:{free_port()}/0")
    live = RedisCachedBalances.from_url(StaticBalances({}), redis_url, prefix="webhook-test:")

    async def close(request: Request) -> Response:
        """Close the caches' connections on the server's own event loop."""
        for cache in (dead, live):
            await cache.aclose()
        return Response(status_code=204)

    app = app_for(
        ("/down", BalanceWebhook(dead, api_token=TOKEN, api_secret=SECRET)),
        ("/up", BalanceWebhook(live, api_token=TOKEN, api_secret=SECRET)),
    )
    app.router.routes.append(Route("/close", close, methods=["POST"]))
    with serve(app) as base, httpx2.Client() as http:
        payload = {"event": "balances.changed", "usernames": ["bob"]}
        down = Sender(http, f"{base}/down").post(payload)
        assert (down.status_code, down.json()["error"]) == (503, "cache-unavailable")
        answer = Sender(http, f"{base}/up").post(payload)
        assert answer.json() == {"event": "balances.changed", "forgotten": 0}
        assert http.post(f"{base}/close").status_code == 204


def test_credentials_are_required_and_never_in_the_repr() -> None:
    with pytest.raises(InvalidArgumentError, match="api_secret"):
        BalanceWebhook(RecordingCache(), api_token=TOKEN, api_secret="")
    hook = BalanceWebhook(RecordingCache(), api_token=TOKEN, api_secret=SECRET)
    assert SECRET not in repr(hook)


def test_events_read_without_a_server() -> None:
    event = read_event(
        {"event": "promise.updated", "usernames": ["bob"], "promise": {"destination": "user:bob"}}
    )
    assert (event.usernames, event.addresses) == (("bob",), ())
