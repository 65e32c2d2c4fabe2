"""The Token Delivery rules official-clients.md adds to seed 003, through the emulator under
uvicorn: updates check inventory and refuse dates for usernames, deliveries become ready at
their ``delivery_date`` (the emulator's clock) and ``auto_fulfill`` sends them, fulfill
multiple takes ``tokens`` in every form, and a shutdown's ``sweep_address`` rides the query.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tca_gate.delivery import DeliveryClient, DeliveryState, UnprocessableEntityError
from tca_gate.delivery.testing import DeliveryEmulator
from tca_gate.errors import InvalidRequestError
from tca_gate.signing.tokenly._scheme import params_json
from tca_gate.signing.tokenly.auth import TokenlyAuth
from tests.support.clocks import ManualClock
from tests.support.servers import serve

TOKEN, SECRET = "Trules-user", "Krules-secret"
BOB_ADDRESS = "1AAAA1111xxxxxxxxxxxxxxxxxxy43CZ9j"
SWEEP = "1BBBB2222xxxxxxxxxxxxxxxxxxy43CZ9j"
#: The emulator's time when a test starts (2033-05-18), far from the real one on purpose.
START = 2_000_000_000


class Recording(httpx2.HTTPTransport):
    """A real loopback transport that keeps every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx2.Request] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent.append(request)
        return super().handle_request(request)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[DeliveryEmulator, ManualClock, str]]:
    clock = ManualClock(float(START))
    emulator = DeliveryEmulator({TOKEN: SECRET}, clock=clock)
    with serve(emulator) as url:
        yield emulator, clock, url


@pytest.fixture
def clock(world: tuple[DeliveryEmulator, ManualClock, str]) -> ManualClock:
    world[1].now = float(START)
    return world[1]


@pytest.fixture
def emulator(world: tuple[DeliveryEmulator, ManualClock, str]) -> DeliveryEmulator:
    return world[0]


@pytest.fixture
def tds(world: tuple[DeliveryEmulator, ManualClock, str]) -> Iterator[DeliveryClient]:
    with DeliveryClient(world[2], TOKEN, SECRET, retries=0) as client:
        yield client


def funded(tds: DeliveryClient, emulator: DeliveryEmulator, **kwargs: Any) -> str:
    """A new source address holding 100 SOUP satoshis; its id."""
    source = tds.new_source_address("Shop", "2:3", **kwargs)
    emulator.fund(source.id, "SOUP", 100)
    return source.id


def signed_post(url: str, path: str, body: dict[str, Any]) -> httpx2.Response:
    """A POST of ``body`` (compact JSON) signed as ``DeliveryClient`` signs it."""
    request = httpx2.Request(
        "POST",
        f"{url}{path}",
        content=params_json(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    request = next(TokenlyAuth(TOKEN, SECRET).auth_flow(request))
    with httpx2.Client() as http:
        return http.send(request)


# -- update delivery ----------------------------------------------------------------------


def test_a_changed_quantity_must_still_be_in_the_inventory(
    tds: DeliveryClient, emulator: DeliveryEmulator
) -> None:
    source = funded(tds, emulator)
    first = tds.new_delivery(source, BOB_ADDRESS, "SOUP", 40)
    second = tds.new_delivery(source, "1Carol", "SOUP", 30)
    # 100 held, 30 promised to Carol: the first may grow to 70, its own 40 counted back in
    assert tds.update_delivery(first.id, quantity=70).quantity == 70
    with pytest.raises(UnprocessableEntityError, match="does not hold enough SOUP"):
        tds.update_delivery(first.id, quantity=71)
    assert tds.get_delivery(first.id).quantity == 70  # a refused update changes nothing
    with pytest.raises(UnprocessableEntityError, match="does not hold enough SOUP"):
        tds.update_delivery(second.id, quantity=31, ref_data="more")
    assert tds.get_delivery(second.id).ref_data is None
    assert tds.update_delivery(second.id, quantity=5).quantity == 5  # less is always there
    assert tds.update_delivery(first.id, quantity=95).quantity == 95


def test_a_pseudo_delivery_changes_quantity_without_inventory(
    tds: DeliveryClient, emulator: DeliveryEmulator
) -> None:
    source = funded(tds, emulator)
    pseudo = tds.new_delivery(source, BOB_ADDRESS, "FUTURE", 10, pseudo=True)
    assert tds.update_delivery(pseudo.id, quantity=10_000).quantity == 10_000


def test_a_delivery_date_is_refused_for_a_username(
    tds: DeliveryClient, emulator: DeliveryEmulator, clock: ManualClock
) -> None:
    source = funded(tds, emulator)
    to_user = tds.new_delivery(source, "user:bob", "SOUP", 10)
    with pytest.raises(UnprocessableEntityError, match="delivery_date is not allowed"):
        tds.update_delivery(to_user.id, delivery_date=START + 60)
    with pytest.raises(UnprocessableEntityError, match="delivery_date are not allowed"):
        tds.new_delivery(source, "user:bob", "SOUP", 10, delivery_date=START + 60)
    # no date is what a username's delivery has: clearing it is accepted
    assert tds.update_delivery(to_user.id, delivery_date=None).delivery_date is None
    to_address = tds.new_delivery(source, BOB_ADDRESS, "SOUP", 10)
    dated = tds.update_delivery(to_address.id, delivery_date=START + 60)
    assert dated.delivery_date is not None
    assert dated.delivery_date.timestamp() == START + 60


# -- delivery dates and auto_fulfill --------------------------------------------------------


def test_a_dated_delivery_becomes_ready_at_its_date(
    tds: DeliveryClient, emulator: DeliveryEmulator, clock: ManualClock
) -> None:
    source = funded(tds, emulator, auto_fulfill=False)
    dated = tds.new_delivery(source, BOB_ADDRESS, "SOUP", 10, delivery_date=START + 3600)
    assert dated.created_at.timestamp() == START  # the emulator's clock, not the real time
    clock.now = START + 3599
    assert tds.get_delivery(dated.id).state is DeliveryState.PENDING
    clock.now = START + 3600
    ready = tds.get_delivery(dated.id)
    assert (ready.state, ready.delivery_tx) == (DeliveryState.READY, None)
    assert ready.updated_at.timestamp() == START + 3600
    # marked unready again, it stays so: the date has come once
    clock.now = START + 7200
    assert tds.update_delivery(dated.id, ready=False).state is DeliveryState.PENDING
    assert tds.get_delivery(dated.id).state is DeliveryState.PENDING


def test_auto_fulfill_sends_a_delivery_when_its_date_comes(
    tds: DeliveryClient, emulator: DeliveryEmulator, clock: ManualClock
) -> None:
    source = funded(tds, emulator)  # auto_fulfill is the service's default
    dated = tds.new_delivery(source, BOB_ADDRESS, "SOUP", 10, delivery_date=START + 60)
    undated = tds.new_delivery(source, BOB_ADDRESS, "SOUP", 10)
    clock.now = START + 60
    sent = tds.get_delivery(dated.id)
    assert sent.state is DeliveryState.SENT
    assert sent.delivery_tx
    assert tds.get_delivery(undated.id).state is DeliveryState.PENDING


def test_a_date_already_past_is_ready_at_once(
    tds: DeliveryClient, emulator: DeliveryEmulator, clock: ManualClock
) -> None:
    source = funded(tds, emulator, auto_fulfill=False)
    late = tds.new_delivery(source, BOB_ADDRESS, "SOUP", 10, delivery_date=START - 1)
    assert late.state is DeliveryState.READY
    moved = tds.new_delivery(source, BOB_ADDRESS, "SOUP", 10, delivery_date=START + 600)
    assert tds.update_delivery(moved.id, delivery_date=START).state is DeliveryState.READY


def test_an_inactive_source_address_waits_and_pseudo_deliveries_never_go(
    tds: DeliveryClient, emulator: DeliveryEmulator, clock: ManualClock
) -> None:
    source = funded(tds, emulator, active=False)
    waiting = tds.new_delivery(source, BOB_ADDRESS, "SOUP", 10, delivery_date=START + 60)
    pseudo = tds.new_delivery(source, BOB_ADDRESS, "FUTURE", 5, delivery_date=START, pseudo=True)
    clock.now = START + 120
    assert tds.get_delivery(waiting.id).state is DeliveryState.PENDING
    tds.update_source_address(source, active=True)
    assert tds.get_delivery(waiting.id).state is DeliveryState.SENT
    assert tds.get_delivery(pseudo.id).state is DeliveryState.PENDING
    tds.update_delivery(pseudo.id, ready=True)
    with pytest.raises(UnprocessableEntityError, match="pseudo token delivery cannot be"):
        tds.fulfill_single_delivery(pseudo.id)


# -- fulfill multiple -----------------------------------------------------------------------

TOKENS = ("MYCOIN", "YOURCOIN", "THEIRCOIN")


def ready_deliveries(tds: DeliveryClient, emulator: DeliveryEmulator) -> tuple[str, dict[str, str]]:
    """A source address with one ready delivery of each of ``TOKENS``."""
    source = tds.new_source_address("Bulk", "2:3", auto_fulfill=False).id
    made = {}
    for token in TOKENS:
        emulator.fund(source, token, 100)
        made[token] = tds.new_delivery(source, BOB_ADDRESS, token, 10).id
        tds.update_delivery(made[token], ready=True)
    return source, made


def sent_tokens(tds: DeliveryClient, made: dict[str, str]) -> set[str]:
    return {
        token for token, key in made.items() if tds.get_delivery(key).state is DeliveryState.SENT
    }


@pytest.mark.parametrize(
    ("tokens", "sent"),
    [
        (None, set(TOKENS)),
        ("all", set(TOKENS)),
        ("YOURCOIN", {"YOURCOIN"}),
        (["MYCOIN", "THEIRCOIN"], {"MYCOIN", "THEIRCOIN"}),
        (("MYCOIN",), {"MYCOIN"}),
    ],
)
def test_the_client_sends_tokens_as_a_name_a_list_or_all(
    tds: DeliveryClient, emulator: DeliveryEmulator, tokens: Any, sent: set[str]
) -> None:
    source, made = ready_deliveries(tds, emulator)
    assert tds.fulfill_multiple_deliveries(source, tokens) is None
    assert sent_tokens(tds, made) == sent


@pytest.mark.parametrize(
    ("body", "sent"),
    [
        ({}, set(TOKENS)),
        ({"tokens": None}, set(TOKENS)),
        ({"tokens": ""}, set(TOKENS)),
        ({"tokens": []}, set(TOKENS)),
        ({"tokens": "all"}, set(TOKENS)),
        ({"tokens": "THEIRCOIN"}, {"THEIRCOIN"}),
        ({"tokens": ["MYCOIN", "YOURCOIN"]}, {"MYCOIN", "YOURCOIN"}),
        # a PHP array with a gap in its keys (after array_filter) is encoded as an object
        ({"tokens": {"0": "MYCOIN", "2": "THEIRCOIN"}}, {"MYCOIN", "THEIRCOIN"}),
    ],
)
def test_the_emulator_takes_every_form_of_tokens(
    world: tuple[DeliveryEmulator, ManualClock, str],
    tds: DeliveryClient,
    body: dict[str, Any],
    sent: set[str],
) -> None:
    emulator, _, url = world
    source, made = ready_deliveries(tds, emulator)
    answer = signed_post(url, f"/api/v1/fulfillment/multiple/{source}", body)
    assert (answer.status_code, answer.json()) == (200, {"result": True})
    assert sent_tokens(tds, made) == sent


@pytest.mark.parametrize("tokens", [5, [1], ["MYCOIN", ""], True])
def test_other_forms_of_tokens_are_refused(
    world: tuple[DeliveryEmulator, ManualClock, str], tds: DeliveryClient, tokens: object
) -> None:
    emulator, _, url = world
    source, made = ready_deliveries(tds, emulator)
    answer = signed_post(url, f"/api/v1/fulfillment/multiple/{source}", {"tokens": tokens})
    assert answer.status_code == 400
    assert answer.json()["errors"] == ['The tokens must be a token, a list of tokens or "all".']
    assert sent_tokens(tds, made) == set()


# -- shutting down a source address -------------------------------------------------------


def test_the_client_sends_the_sweep_address_in_the_query(
    world: tuple[DeliveryEmulator, ManualClock, str],
) -> None:
    emulator, _, url = world
    transport = Recording()
    with DeliveryClient(url, TOKEN, SECRET, retries=0, transport=transport) as tds:
        source = tds.new_source_address("Closing", "2:2")
        assert tds.shutdown_source_address(source.id, SWEEP) is None
    request = transport.sent[-1]
    assert (request.method, request.url.path) == ("DELETE", f"/api/v1/source/{source.id}")
    assert request.url.params["sweep_address"] == SWEEP
    assert request.content == b""
    assert emulator.sweeps[source.id] == SWEEP
    assert source.id not in emulator.sources


def test_without_a_sweep_address_the_backup_address_is_used(
    tds: DeliveryClient, emulator: DeliveryEmulator
) -> None:
    source = tds.new_source_address("Closing", "2:2")
    tds.shutdown_source_address(source.id)
    assert emulator.sweeps[source.id] is None


def test_the_documents_body_form_is_taken_too_and_a_conflict_refused(
    world: tuple[DeliveryEmulator, ManualClock, str], tds: DeliveryClient
) -> None:
    emulator, _, url = world

    def delete(path: str, body: dict[str, str]) -> httpx2.Response:
        request = httpx2.Request(
            "DELETE",
            f"{url}{path}",
            content=params_json(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with httpx2.Client() as http:
            return http.send(next(TokenlyAuth(TOKEN, SECRET).auth_flow(request)))

    source = tds.new_source_address("Closing", "2:2").id
    conflict = delete(f"/api/v1/source/{source}?sweep_address=1Other", {"sweep_address": SWEEP})
    assert conflict.status_code == 400
    assert "differs between the query and the body" in conflict.json()["message"]
    assert source in emulator.sources
    answer = delete(f"/api/v1/source/{source}", {"sweep_address": SWEEP})
    assert (answer.status_code, answer.json()) == (200, {"result": True})
    assert emulator.sweeps[source] == SWEEP


def test_a_source_with_pending_deliveries_is_not_shut_down(
    tds: DeliveryClient, emulator: DeliveryEmulator
) -> None:
    source = funded(tds, emulator)
    pending = tds.new_delivery(source, BOB_ADDRESS, "SOUP", 10)
    with pytest.raises(UnprocessableEntityError, match="cancel them first") as refused:
        tds.shutdown_source_address(source, SWEEP)
    assert isinstance(refused.value, InvalidRequestError)
    tds.cancel_delivery(pending.id)
    tds.shutdown_source_address(source, SWEEP)
    assert emulator.sweeps[source] == SWEEP
