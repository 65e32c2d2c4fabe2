"""How ``CounterpartyBalances`` reads answers a node should not give (found by an
adversarial review): each is an exact sum or a ``BalanceUnavailableError``, never a sum
that could be too high. Answers are built in-process (``MockTransport``): this is the
reading of shapes; the loopback tests against the emulator are in test_counterparty*.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from tca_gate.balances import CounterpartyBalances, Holder
from tca_gate.errors import BalanceUnavailableError, InvalidArgumentError

A = "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH"
B = "1cMh228HTCiwS8ZsaakH8A8wze1JR5ZsP"
Handler = Callable[[httpx2.Request], httpx2.Response]


def asset_info(name: str, divisible: bool) -> dict[str, Any]:
    return {
        "result": {
            "asset": name,
            "asset_longname": None,
            "divisible": divisible,
            "locked": False,
            "supply": 10**12,
            "issuer": None,
            "owner": None,
            "description": "",
        }
    }


def group(asset: str, rows: list[tuple[str, int]], longname: str | None = None) -> dict[str, Any]:
    return {
        "asset": asset,
        "asset_longname": longname,
        "total": sum(quantity for _, quantity in rows),
        "addresses": [
            {"address": address, "utxo": None, "utxo_address": None, "quantity": quantity}
            for address, quantity in rows
        ],
    }


def page(
    groups: list[dict[str, Any]], cursor: str | None = None, count: int = 0
) -> httpx2.Response:
    body = {"result": groups, "next_cursor": cursor, "result_count": count or len(groups)}
    return httpx2.Response(200, json=body)


def node(balances: Callable[[httpx2.Request], httpx2.Response], divisible: bool = True) -> Handler:
    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/v2/addresses/balances":
            return balances(request)
        return httpx2.Response(200, json=asset_info(request.url.path.rsplit("/", 1)[1], divisible))

    return handle


def read(handler: Handler, addresses: list[str], **options: Any) -> dict[str, int]:
    async def go() -> dict[str, int]:
        source = CounterpartyBalances(
            "http://node", transport=httpx2.MockTransport(handler), **options
        )
        try:
            return dict(await source.balances(Holder.addresses(addresses)))
        finally:
            await source.aclose()

    return asyncio.run(go())


def honest(request: httpx2.Request) -> httpx2.Response:
    """A node answering only for the addresses asked (A holds 1 TOKENLY)."""
    wanted = set(parse_qs(urlsplit(str(request.url)).query)["addresses"][0].split(","))
    return page([group("TOKENLY", [(A, 10**8)])] if A in wanted else [])


def test_an_address_named_twice_counts_once_even_across_batches() -> None:
    assert read(node(honest), [A, B, A], batch_size=2) == {"TOKENLY": 10**8}


def test_a_batch_answering_for_an_address_of_another_batch_is_refused() -> None:
    def cross(request: httpx2.Request) -> httpx2.Response:
        return page([group("TOKENLY", [(A, 10**8)])])  # whatever was asked, A holds 1

    with pytest.raises(BalanceUnavailableError, match="not asked about"):
        read(node(cross), [A, B], batch_size=1)


def test_a_page_repeating_a_row_is_refused() -> None:
    def repeating(request: httpx2.Request) -> httpx2.Response:
        cursor = parse_qs(urlsplit(str(request.url)).query).get("cursor", [None])[0]
        return page([group("TOKENLY", [(A, 6 * 10**7)])], "p2" if cursor is None else None, 99)

    with pytest.raises(BalanceUnavailableError, match="twice"):
        read(node(repeating), [A])


@pytest.mark.parametrize(
    "groups",
    [
        [group("TOKENLY", [(A, 6 * 10**7), (A, 6 * 10**7)])],
        [group("TOKENLY", [(A, 6 * 10**7)]), group("TOKENLY", [(A, 6 * 10**7)])],
    ],
    ids=["a holder twice in a group", "an asset group twice"],
)
def test_a_row_listed_twice_is_refused(groups: list[dict[str, Any]]) -> None:
    with pytest.raises(BalanceUnavailableError, match="twice"):
        read(node(lambda request: page(groups)), [A])


def test_two_assets_under_one_rule_name_are_refused() -> None:
    groups = [group("A95428956980101314", [(A, 1)], "TOKENLY"), group("TOKENLY", [(A, 10**8)])]
    with pytest.raises(BalanceUnavailableError, match="go by the name TOKENLY"):
        read(node(lambda request: page(groups)), [A])


def test_an_answer_about_another_asset_is_refused_and_not_kept() -> None:
    step = {"held": "FOO"}

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/v2/addresses/balances":
            return page([group(step["held"], [(A, 1)])])
        name = request.url.path.rsplit("/", 1)[1]
        # asked about FOO, the node describes BAR (indivisible); BAR really is divisible
        return httpx2.Response(
            200, json=asset_info("BAR", False) if name == "FOO" else asset_info(name, True)
        )

    async def go() -> dict[str, int]:
        source = CounterpartyBalances("http://node", transport=httpx2.MockTransport(handle))
        try:
            with pytest.raises(BalanceUnavailableError, match="when asked about FOO"):
                await source.balances(Holder.addresses([A]))
            step["held"] = "BAR"
            return dict(await source.balances(Holder.addresses([A])))
        finally:
            await source.aclose()

    assert asyncio.run(go()) == {"BAR": 1}  # one unit of a divisible asset, not 10^8


def test_a_node_url_carrying_a_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        CounterpartyBalances("https://rpcuser:S3CRETpw@node.example:4000")
    assert "S3CRETpw" not in str(refused.value)
    assert "user or password" in str(refused.value)
