"""Every ``DeliveryClient`` and ``AsyncDeliveryClient`` call against the emulator under uvicorn,
each request checked by ``TokenlyAuthMiddleware``; answers read into frozen values."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tca_gate import InvalidArgumentError
from tca_gate.delivery import (
    AsyncDeliveryClient,
    Delivery,
    DeliveryClient,
    DeliveryState,
    Issuance,
    SourceAddress,
    UnprocessableEntityError,
)
from tca_gate.delivery.testing import DeliveryEmulator
from tca_gate.errors import NotFoundError
from tests.support.servers import serve

TOKEN, SECRET = "Tdelivery-user", "Kdelivery-secret"
BOB_ADDRESS = "1AAAA1111xxxxxxxxxxxxxxxxxxy43CZ9j"
SWEEP = "1BBBB2222xxxxxxxxxxxxxxxxxxy43CZ9j"


class Tds:
    """One client, sync or async, with every call returning its value."""

    def __init__(self, client: DeliveryClient | AsyncDeliveryClient, runner: asyncio.Runner):
        self.client = client
        self.runner = runner

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            value = method(*args, **kwargs)
            return self.runner.run(value) if asyncio.iscoroutine(value) else value

        return call


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[DeliveryEmulator, str]]:
    emulator = DeliveryEmulator({TOKEN: SECRET, "Tother": "Kother"})
    with serve(emulator) as url:
        yield emulator, url


@pytest.fixture(params=["sync", "async"])
def tds(request: pytest.FixtureRequest, served: tuple[DeliveryEmulator, str]) -> Iterator[Tds]:
    _, url = served
    with asyncio.Runner() as runner:
        if request.param == "sync":
            with DeliveryClient(url, TOKEN, SECRET, retries=0) as client:
                yield Tds(client, runner)
        else:
            client_async = AsyncDeliveryClient(url, TOKEN, SECRET, retries=0)
            yield Tds(client_async, runner)
            runner.run(client_async.aclose())


def test_source_addresses_are_created_read_listed_updated_and_shut_down(
    tds: Tds, served: tuple[DeliveryEmulator, str]
) -> None:
    emulator, _ = served
    source = tds.new_source_address(
        "Game Fountain", "2:2", "http://app.example/tx", "http://app.example/joined"
    )
    assert isinstance(source, SourceAddress)
    assert (source.label, source.type, source.webhook, source.join_callback) == (
        "Game Fountain",
        "2:2",
        "http://app.example/tx",
        "http://app.example/joined",
    )
    assert source.address is None
    assert source.auto_fulfill is True
    assert source.balances is None  # a new address's answer has no balances
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.label = "changed"  # type: ignore[misc]

    emulator.fund(source.id, "SOUP", 12_345678901)
    details = tds.get_source_address(source.id)
    assert details.balances == {"SOUP": 12_345678901}
    assert details.available_balances == {"SOUP": 12_345678901}
    assert details.pending_deliveries == {}
    assert details.created_at.tzinfo is not None

    listed = tds.get_source_address_list()
    assert source.id in {item.id for item in listed}
    assert all(item.balances is None for item in listed)

    updated = tds.update_source_address(
        source.id, label="Game River", auto_fulfill=False, desired_utxo_primes=3
    )
    assert (updated.label, updated.auto_fulfill, updated.desired_utxo_primes) == (
        "Game River",
        False,
        3,
    )
    assert updated.join_callback == "http://app.example/joined"  # untouched

    assert tds.shutdown_source_address(source.id, SWEEP) is None
    with pytest.raises(NotFoundError):
        tds.get_source_address(source.id)


def test_a_default_source_address_and_shut_down_without_a_sweep_address(tds: Tds) -> None:
    source = tds.new_source_address()
    assert (source.type, source.label) == ("2:3", None)
    tds.shutdown_source_address(source.id)
    assert source.id not in {item.id for item in tds.get_source_address_list()}


def test_deliveries_are_created_read_listed_updated_fulfilled_and_cancelled(
    tds: Tds, served: tuple[DeliveryEmulator, str]
) -> None:
    emulator, _ = served
    source = tds.new_source_address("Inventory", "2:3")
    emulator.fund(source.id, "SOUP", 20_00000000)
    emulator.fund(source.id, "PIZZA", 3_00000000)
    when = datetime(2031, 10, 22, 20, 0, tzinfo=UTC)
    soup = tds.new_delivery(
        source.id, BOB_ADDRESS, "SOUP", 5_00000001, delivery_date=when, ref_data="order 7"
    )
    assert isinstance(soup, Delivery)
    assert (soup.quantity, soup.state, soup.delivery_date, soup.ref_data) == (
        500000001,
        DeliveryState.PENDING,
        when,
        "order 7",
    )
    assert type(soup.quantity) is int
    to_user = tds.new_delivery(source.id, "user:bob", "PIZZA", 1_00000000, pseudo=False)
    assert to_user.destination == "user:bob"
    assert tds.get_delivery(soup.id) == soup

    pending = tds.get_source_address(source.id).pending_deliveries
    assert pending == {"SOUP": 500000001, "PIZZA": 100000000}

    by_token = tds.get_delivery_list(source=source.id, token="SOUP")
    assert [item.id for item in by_token] == [soup.id]
    assert by_token[0].quantity == 500000001  # read from the list's "500000001" string
    by_destination = tds.get_delivery_list(destination="user:bob", source=source.id)
    assert [item.id for item in by_destination] == [to_user.id]

    ready = tds.update_delivery(soup.id, quantity=6_00000000, ready=True, delivery_date=None)
    assert (ready.quantity, ready.state, ready.delivery_date) == (
        600000000,
        DeliveryState.READY,
        None,
    )
    with pytest.raises(UnprocessableEntityError, match="usernames cannot be ready"):
        tds.update_delivery(to_user.id, ready=True)

    assert tds.fulfill_single_delivery(soup.id) is None
    sent = tds.get_delivery(soup.id)
    assert sent.state is DeliveryState.SENT
    assert sent.delivery_tx

    assert tds.cancel_delivery(to_user.id) is None
    with pytest.raises(NotFoundError):
        tds.get_delivery(to_user.id)


def test_complete_deliveries_are_listed_only_when_asked(
    tds: Tds, served: tuple[DeliveryEmulator, str]
) -> None:
    emulator, _ = served
    source = tds.new_source_address("Done", "2:2")
    emulator.fund(source.id, "SOUP", 10)
    done = tds.new_delivery(source.id, BOB_ADDRESS, "SOUP", 10)
    emulator.deliveries[done.id]["complete"] = True
    assert tds.get_delivery_list(source=source.id) == ()
    assert [d.id for d in tds.get_delivery_list(source=source.id, show_complete=True)] == [done.id]


def test_fulfilling_many_sends_only_the_ready_deliveries_of_the_tokens_given(
    tds: Tds, served: tuple[DeliveryEmulator, str]
) -> None:
    emulator, _ = served
    source = tds.new_source_address("Bulk", "2:3")
    for token in ("MYCOIN", "YOURCOIN", "THEIRCOIN"):
        emulator.fund(source.id, token, 100)
    made = {
        token: tds.new_delivery(source.id, BOB_ADDRESS, token, 40).id
        for token in ("MYCOIN", "YOURCOIN", "THEIRCOIN")
    }
    for delivery_id in made.values():
        tds.update_delivery(delivery_id, ready=True)
    assert tds.fulfill_multiple_deliveries(source.id, ["MYCOIN", "YOURCOIN"]) is None
    states = {token: tds.get_delivery(made[token]).state for token in made}
    assert states == {
        "MYCOIN": DeliveryState.SENT,
        "YOURCOIN": DeliveryState.SENT,
        "THEIRCOIN": DeliveryState.READY,
    }
    tds.fulfill_multiple_deliveries(source.id)
    assert tds.get_delivery(made["THEIRCOIN"]).state is DeliveryState.SENT


def test_an_issuance_is_proposed_in_satoshis(tds: Tds) -> None:
    source = tds.new_source_address("Issuer", "2:2")
    issued = tds.create_issuance(
        source.id, "MYNEWTOKEN", 50_00000000, True, description="About my new token"
    )
    assert isinstance(issued, Issuance)
    assert (issued.asset, issued.quantity) == ("MYNEWTOKEN", 5000000000)
    assert issued.copay_transaction == {"source": source.id}


def test_a_delivery_beyond_the_inventory_is_refused_unless_pseudo(
    tds: Tds, served: tuple[DeliveryEmulator, str]
) -> None:
    emulator, _ = served
    source = tds.new_source_address("Small", "2:2")
    emulator.fund(source.id, "SOUP", 99)
    with pytest.raises(UnprocessableEntityError, match="does not hold enough SOUP"):
        tds.new_delivery(source.id, BOB_ADDRESS, "SOUP", 100)
    assert tds.new_delivery(source.id, BOB_ADDRESS, "FUTURE", 100, pseudo=True).pseudo is True


def test_another_api_users_things_are_not_found(
    tds: Tds, served: tuple[DeliveryEmulator, str]
) -> None:
    _, url = served
    mine = tds.new_source_address("Mine", "2:2")
    with DeliveryClient(url, "Tother", "Kother", retries=0) as other, pytest.raises(NotFoundError):
        other.get_source_address(mine.id)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.new_delivery("s", BOB_ADDRESS, "SOUP", 1.5), "quantity must be an int"),
        (lambda c: c.new_delivery("s", BOB_ADDRESS, "SOUP", True), "quantity must be an int"),
        (lambda c: c.new_delivery("s", BOB_ADDRESS, "SOUP", 0), "quantity must be above zero"),
        (lambda c: c.new_delivery("s", "", "SOUP", 1), "destination must be a non-empty"),
        (
            lambda c: c.new_delivery("s", "d", "T", 1, delivery_date=datetime(2030, 1, 1)),
            "timezone-aware",
        ),
        (lambda c: c.new_source_address(type="3:3"), "type must be '2:2' or '2:3'"),
        (lambda c: c.update_source_address("s"), "needs at least one of"),
        (lambda c: c.update_delivery("d"), "needs at least one of"),
        (lambda c: c.fulfill_multiple_deliveries("s", 5), "list of strings or a string"),
        (lambda c: c.fulfill_multiple_deliveries("s", ""), "tokens must be a non-empty"),
        (lambda c: c.fulfill_multiple_deliveries("s", []), "must not be an empty list"),
        (lambda c: c.fulfill_multiple_deliveries("s", ["A", 1]), r"tokens\[1\] must be"),
        (lambda c: c.shutdown_source_address("s", ""), "sweep_address must be a non-empty"),
        (lambda c: c.get_delivery(".."), "URLs resolve it away"),
        (lambda c: c.create_issuance("s", "A", 1, "yes"), "divisible must be True or False"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(
    call: Callable[[DeliveryClient], object], message: str
) -> None:
    # an unroutable URL: any request sent would fail with ServiceUnavailableError instead
    with (
        DeliveryClient("http://127.0.0.1:9", TOKEN, SECRET, retries=0) as client,
        pytest.raises(InvalidArgumentError, match=message),
    ):
        call(client)
