"""``DeliveryWebhook`` under uvicorn: a signed delivery notification is read into a
``DeliveryNotification`` and makes a real ``CachedBalances`` forget the destination."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from tca_gate import sign_tokenly_request
from tca_gate.balances import CachedBalances, Holder
from tca_gate.delivery import (
    DeliveryClient,
    DeliveryNotification,
    DeliveryState,
    DeliveryWebhook,
    read_notification,
)
from tca_gate.delivery.testing import DeliveryEmulator
from tca_gate.gate import WebhookPayloadError
from tests.support.servers import serve

TOKEN, SECRET = "Thook-sender", "Khook-secret"
BOB_ADDRESS = "1AAAA1111xxxxxxxxxxxxxxxxxxy43CZ9j"


class CountingSource:
    """A balance source that counts its fetches, so a forgotten answer shows as a refetch."""

    def __init__(self) -> None:
        self.fetches = 0

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        self.fetches += 1
        return {"SOUP": 100 * self.fetches}


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[DeliveryEmulator, DeliveryClient, str, CachedBalances, list[Any]]]:
    """The emulated service, a client of it, and an app with the webhook and its cache."""
    emulator = DeliveryEmulator({TOKEN: SECRET})
    cache = CachedBalances(CountingSource(), ttl=300)
    received: list[DeliveryNotification] = []

    async def on_notification(notification: DeliveryNotification) -> None:
        received.append(notification)

    hook = DeliveryWebhook(
        cache, api_token=TOKEN, api_secret=SECRET, on_notification=on_notification
    )
    app = Starlette(routes=[Route("/hooks/delivery", hook, methods=["GET", "POST"])])
    with (
        serve(emulator) as service,
        serve(app) as app_url,
        DeliveryClient(service, TOKEN, SECRET, retries=0) as tds,
    ):
        yield emulator, tds, f"{app_url}/hooks/delivery", cache, received


def post(url: str, payload: Any, *, secret: str = SECRET) -> httpx2.Response:
    headers = sign_tokenly_request("POST", url, payload, TOKEN, secret)
    headers["Content-Type"] = "application/json"
    return httpx2.post(url, content=json.dumps(payload, separators=(",", ":")), headers=headers)


def cached_soup(cache: CachedBalances, holder: Holder) -> int:
    return asyncio.run(cache.balances(holder))["SOUP"]


def test_a_fulfilled_delivery_makes_the_cache_forget_its_destination(world: Any) -> None:
    emulator, tds, url, cache, received = world
    source = tds.new_source_address("Shop", "2:2")
    emulator.fund(source.id, "SOUP", 10_00000000)
    delivery = tds.new_delivery(source.id, BOB_ADDRESS, "SOUP", 2_00000000)
    tds.update_delivery(delivery.id, ready=True)
    tds.fulfill_single_delivery(delivery.id)

    bob = Holder.addresses([BOB_ADDRESS])
    other = Holder.addresses(["1Other"])
    before, kept = cached_soup(cache, bob), cached_soup(cache, other)
    assert cached_soup(cache, bob) == before  # cached: no refetch

    answer = post(url, emulator.notification("delivery.fulfilled", delivery.id))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"event": "delivery.fulfilled", "delivery": delivery.id, "forgotten": 1}
    assert cached_soup(cache, bob) != before  # forgotten: fetched afresh
    assert cached_soup(cache, other) == kept  # untouched

    notification = received[-1]
    assert notification.delivery.id == delivery.id
    assert notification.delivery.state is DeliveryState.SENT
    assert notification.delivery.quantity == 200000000
    assert notification.addresses == (BOB_ADDRESS,)


def test_a_delivery_to_a_username_forgets_that_user(world: Any) -> None:
    emulator, tds, url, cache, received = world
    source = tds.new_source_address("Shop", "2:2")
    emulator.fund(source.id, "SOUP", 10)
    delivery = tds.new_delivery(source.id, "user:Bob", "SOUP", 10)
    bob = Holder.user("bob")
    before = cached_soup(cache, bob)
    assert post(url, emulator.notification("delivery.created", delivery.id)).status_code == 200
    assert cached_soup(cache, bob) != before
    assert received[-1].usernames == ("Bob",)


def test_an_unsigned_or_badly_signed_notification_forgets_nothing(world: Any) -> None:
    emulator, tds, url, cache, _ = world
    source = tds.new_source_address("Shop", "2:2")
    emulator.fund(source.id, "SOUP", 10)
    delivery = tds.new_delivery(source.id, "1Carol", "SOUP", 10)
    carol = Holder.addresses(["1Carol"])
    before = cached_soup(cache, carol)
    payload = emulator.notification("delivery.fulfilled", delivery.id)
    refused = post(url, payload, secret="not-the-secret")
    assert (refused.status_code, refused.json()["error"]) == (401, "bad-signature")
    unsigned = httpx2.post(url, json=payload)
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "missing-header")
    assert cached_soup(cache, carol) == before


def test_a_malformed_notification_is_refused_naming_the_field(world: Any) -> None:
    _, _, url, _, _ = world
    answer = post(url, {"event": "delivery.fulfilled", "delivery": {"destination": "1Bob"}})
    assert answer.status_code == 400
    assert answer.json()["field"] == "delivery.id"
    wrong_event = post(url, {"event": "promise.created", "addresses": ["1Bob"]})
    assert (wrong_event.status_code, wrong_event.json()["field"]) == (400, "event")


def test_only_post_is_taken(world: Any) -> None:
    _, _, url, _, _ = world
    headers = sign_tokenly_request("GET", url, None, TOKEN, SECRET)
    answer = httpx2.get(url, headers=headers)
    assert (answer.status_code, answer.headers["allow"]) == (405, "POST")


def test_read_notification_refuses_a_delivery_with_a_float_quantity() -> None:
    delivery = {
        "id": "d1", "sourceUuid": "s1", "destination": "1Bob", "token": "SOUP",
        "quantity": 1.5, "deliveryDate": None, "refData": None, "pseudo": False,
        "holdPromise": False, "state": 1, "complete": False, "deliveryTx": None,
        "createdAt": "2016-10-21T18:43:21+0000", "updatedAt": "2016-10-21T18:43:21+0000",
    }  # fmt: skip
    with pytest.raises(WebhookPayloadError) as refused:
        read_notification({"event": "delivery.updated", "delivery": delivery})
    assert refused.value.field == "delivery.quantity"
