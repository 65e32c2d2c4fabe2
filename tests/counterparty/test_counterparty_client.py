"""The Counterparty client against the emulator over loopback: the answers' shapes, paging
to the end, a node catching up, and every way an answer can fail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tca_gate.counterparty import AsyncCounterpartyClient, CounterpartyClient, RetryPolicy
from tca_gate.counterparty.testing import CounterpartyEmulator
from tca_gate.errors import (
    InvalidArgumentError,
    MalformedResponseError,
    NotFoundError,
    ServerError,
    ServiceUnavailableError,
)
from tests.support.counterparty import SUBASSET, holdings

QUICK = RetryPolicy(retries=2, wait_initial=0.01, wait_max=0.02, wait_jitter=0.0)


@pytest.fixture
def node() -> CounterpartyEmulator:
    return holdings()


@pytest.fixture
def url(node: CounterpartyEmulator) -> Iterator[str]:
    with node.running() as served:
        yield served


def test_status_says_whether_the_node_follows_the_chain(
    node: CounterpartyEmulator, url: str
) -> None:
    with CounterpartyClient(url) as client:
        status = client.status()
        assert (status.server_ready, status.ledger_state, status.ready) == (True, "Following", True)
        node.catch_up()
        behind = client.status()
    assert (behind.server_ready, behind.ledger_state, behind.ready) == (False, "Catching Up", False)
    assert behind.counterparty_height is not None
    assert behind.backend_height is not None
    assert behind.counterparty_height < behind.backend_height


def test_balances_of_several_addresses_come_grouped_by_asset_with_utxo_owners(url: str) -> None:
    with CounterpartyClient(url) as client:
        page = client.addresses_balances(["1Alice", "1Bob"], verbose=True)
    assert page.next_cursor is None
    assert page.result_count == 3
    by_asset = {group.asset: group for group in page.items}
    xcp = by_asset["XCP"]
    assert xcp.total == 175_000_000
    assert xcp.divisible is True
    owners = {(held.address, held.utxo_address, held.owner) for held in xcp.holdings}
    assert owners == {("1Alice", None, "1Alice"), (None, "1Alice", "1Alice")}
    child = by_asset[SUBASSET]
    assert (child.name, child.total, child.divisible) == ("PARENT.child", 2, False)
    assert by_asset["MYCARD"].divisible is False


def test_type_keeps_the_address_s_own_holdings_or_its_utxos_only(url: str) -> None:
    with CounterpartyClient(url) as client:
        own = client.address_balances("1Alice", type="address").items
        attached = client.address_balances("1Alice", type="utxo").items
    assert sorted((row.asset, row.holding.quantity) for row in own) == [
        ("MYCARD", 3),
        ("XCP", 150_000_000),
    ]
    assert [(row.asset, row.holding.utxo_address, row.holding.address) for row in attached] == [
        ("XCP", "1Alice", None)
    ]


def test_verbose_answers_say_divisibility_and_plain_ones_do_not(url: str) -> None:
    with CounterpartyClient(url) as client:
        plain = client.address_balances("1Alice").items
        verbose = client.address_balances("1Alice", verbose=True).items
    assert {row.divisible for row in plain} == {None}
    assert {row.asset: row.divisible for row in verbose} == {"MYCARD": False, "XCP": True}


def test_an_asset_is_found_by_name_or_long_name_and_a_missing_one_is_not_found(url: str) -> None:
    with CounterpartyClient(url) as client:
        card = client.asset("MYCARD")
        child = client.asset("PARENT.child")
        with pytest.raises(NotFoundError):
            client.asset("NOSUCH")
    assert (card.divisible, card.supply) == (False, 3)
    assert (child.asset, child.asset_longname) == (SUBASSET, "PARENT.child")


def test_every_page_is_followed_to_the_end(node: CounterpartyEmulator, url: str) -> None:
    for index in range(7):
        node.issue(f"TOKEN{index}")
        node.set_balance("1Carol", f"TOKEN{index}", index + 1)
        node.set_balance(f"1Holder{index}", "XCP", 10)

    async def read() -> tuple[list[str], list[int]]:
        async with AsyncCounterpartyClient(url) as client:
            groups = await client.every_addresses_balance(["1Carol"], page_size=2)
            holders = await client.every_asset_balance("XCP", page_size=3)
        return [group.asset for group in groups], [row.holding.quantity for row in holders]

    assets, quantities = asyncio.run(read())
    assert assets == [f"TOKEN{index}" for index in range(7)]
    assert len(quantities) == 9  # 1Alice twice (itself and its UTXO) and seven holders
    cursors = [query.get("cursor") for path, query in node.calls if path.endswith("/balances")]
    assert cursors == [None, "2", "4", "6", None, "3", "6"]


def test_pages_that_never_end_are_malformed() -> None:
    async def looping(request: Request) -> JSONResponse:
        return JSONResponse({"result": [], "next_cursor": 5, "result_count": 10})

    app = Starlette(routes=[Route("/v2/addresses/balances", looping)])
    transport = httpx2.ASGITransport(app=app)

    async def read() -> None:
        async with AsyncCounterpartyClient("http://node.test", transport=transport) as client:
            await client.every_addresses_balance(["1Alice"])

    with pytest.raises(MalformedResponseError, match="the pages do not end"):
        asyncio.run(read())


def test_a_node_catching_up_is_refused_whether_it_answers_503_or_data(
    node: CounterpartyEmulator, url: str
) -> None:
    node.catch_up()
    with CounterpartyClient(url, retries=QUICK) as client:
        with pytest.raises(ServerError) as refused:
            client.addresses_balances(["1Alice"])
        assert refused.value.status == 503
        assert "Counterparty not ready" in str(refused.value)
        node.catch_up(serve_data=True)
        with pytest.raises(ServiceUnavailableError, match="not up to date"):
            client.addresses_balances(["1Alice"])
    assert len(node.calls) == 6  # each call tried three times


def test_a_failure_is_retried_then_raised(node: CounterpartyEmulator, url: str) -> None:
    with CounterpartyClient(url, retries=QUICK) as client:
        node.fail(2, status=502)
        assert client.addresses_balances(["1Alice"]).result_count == 2
        node.fail(3, status=500)
        with pytest.raises(ServerError) as failed:
            client.addresses_balances(["1Alice"])
    assert failed.value.status == 500


def test_a_stalled_node_times_out(node: CounterpartyEmulator, url: str) -> None:
    node.stall(3, seconds=5.0)
    started = time.monotonic()
    with (
        CounterpartyClient(url, timeout=0.2, retries=QUICK) as client,
        pytest.raises(ServiceUnavailableError, match="no answer in time"),
    ):
        client.addresses_balances(["1Alice"])
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("how", "expected"),
    [("not-json", "not JSON"), ("bad-quantity", "should be an integer amount")],
)
def test_malformed_answers_are_refused(
    node: CounterpartyEmulator, url: str, how: Literal["not-json", "bad-quantity"], expected: str
) -> None:
    node.malform(how=how)
    with CounterpartyClient(url) as client, pytest.raises(MalformedResponseError, match=expected):
        client.addresses_balances(["1Alice"])


def test_arguments_are_checked_before_any_call(url: str) -> None:
    with CounterpartyClient(url) as client:
        with pytest.raises(InvalidArgumentError, match="list of addresses"):
            client.addresses_balances("1Alice")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="limit"):
            client.addresses_balances(["1Alice"], limit=0)
        with pytest.raises(InvalidArgumentError, match="type"):
            client.address_balances("1Alice", type="both")  # type: ignore[arg-type]


def test_the_emulator_reads_its_balances_from_toml(tmp_path: Path) -> None:
    file = tmp_path / "balances.toml"
    file.write_text(
        f"""
[[asset]]
asset = "{SUBASSET}"
longname = "PARENT.child"
divisible = false

[[balance]]
address = "1Dora"
asset = "PARENT.child"
quantity = 4
utxo = "cd:1"
""",
        encoding="utf-8",
    )
    node = CounterpartyEmulator.from_toml(file)
    with node.running() as served, CounterpartyClient(served) as client:
        (group,) = client.addresses_balances(["1Dora"]).items
    assert (group.name, group.total, group.holdings[0].utxo_address) == ("PARENT.child", 4, "1Dora")
    with pytest.raises(InvalidArgumentError, match="cannot be read"):
        CounterpartyEmulator().load_toml("[[balance]]\naddress = '1X'\n")
