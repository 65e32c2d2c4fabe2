"""``CounterpartyBalances`` against the Counterparty emulator over loopback: TCA units for
divisible and indivisible assets, subassets, UTXO-attached balances, paging, batching,
every failure as ``BalanceUnavailableError`` (a gate's 503), the cache in front, and
usernames through an address book or Tokenpass (the sandbox), promises included."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Literal

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tca_gate import InvalidArgumentError
from tca_gate.balances import (
    BalanceUnavailableError,
    CachedBalances,
    CounterpartyBalances,
    Holder,
    TokenpassBalances,
    UnknownHolderError,
)
from tca_gate.counterparty.testing import CounterpartyEmulator
from tca_gate.gate import Gate, TcaGateMiddleware
from tca_gate.sandbox import SandboxServer
from tca_gate.tokenpass import AsyncTokenpassClient
from tca_gate.wire.serving import BackgroundServer
from tests.support.counterparty import SUBASSET, holdings

SAT = 100_000_000
SEED = Path(__file__).parents[1] / "fixtures" / "sandbox" / "seed.toml"


@pytest.fixture
def node() -> CounterpartyEmulator:
    node = holdings()
    node.set_balance("1Bob", "MYCARD", 1, utxo="cd" * 32 + ":1")
    node.set_balance("1Stranger", "XCP", 999 * SAT)
    return node


@pytest.fixture
def url(node: CounterpartyEmulator) -> Iterator[str]:
    with node.running() as served:
        yield served


def read(source: CounterpartyBalances, holder: Holder) -> dict[str, int]:
    async def ask() -> dict[str, int]:
        try:
            return dict(await source.balances(holder))
        finally:
            await source.aclose()

    return asyncio.run(ask())


def test_holdings_are_summed_in_tca_units(url: str) -> None:
    """XCP is divisible: as it is, UTXO-attached included; MYCARD and the subasset are
    indivisible: whole tokens times 10^8, the subasset under its long name."""
    source = CounterpartyBalances(url)
    assert read(source, Holder.addresses(["1Alice", "1Bob"])) == {
        "XCP": 175_000_000,
        "MYCARD": 4 * SAT,
        "PARENT.child": 2 * SAT,
    }


def test_an_address_holding_nothing_has_no_balances(url: str) -> None:
    assert read(CounterpartyBalances(url), Holder.addresses(["1Nobody"])) == {}


def test_every_page_is_read(node: CounterpartyEmulator, url: str) -> None:
    for index in range(9):
        node.issue(f"TOKEN{index}", divisible=index % 2 == 0)
        node.set_balance("1Carol", f"TOKEN{index}", index + 1)
    balances = read(CounterpartyBalances(url, page_size=2), Holder.addresses(["1Carol"]))
    assert balances == {
        f"TOKEN{index}": (index + 1) * (1 if index % 2 == 0 else SAT) for index in range(9)
    }
    pages = [query for path, query in node.calls if path == "/v2/addresses/balances"]
    assert [page.get("cursor") for page in pages] == [None, "2", "4", "6", "8"]
    assert {page["type"] for page in pages} == {"all"}


def test_many_addresses_are_asked_about_in_batches(node: CounterpartyEmulator, url: str) -> None:
    addresses = [f"1Holder{index:03}" for index in range(120)]
    for address in addresses:
        node.set_balance(address, "XCP", 1000)
    source = CounterpartyBalances(url, batch_size=50)
    assert read(source, Holder.addresses(addresses)) == {"XCP": 120_000}
    asked = [q["addresses"].split(",") for p, q in node.calls if p == "/v2/addresses/balances"]
    assert sorted(len(batch) for batch in asked) == [20, 50, 50]
    assert sorted(address for batch in asked for address in batch) == addresses


def test_divisibility_is_asked_once_per_asset(node: CounterpartyEmulator, url: str) -> None:
    source = CounterpartyBalances(url)

    async def twice() -> None:
        await source.balances(Holder.addresses(["1Alice"]))
        await source.balances(Holder.addresses(["1Alice", "1Bob"]))
        await source.aclose()

    asyncio.run(twice())
    looked_up = sorted(path for path, _ in node.calls if path.startswith("/v2/assets/"))
    assert looked_up == [f"/v2/assets/{SUBASSET}", "/v2/assets/MYCARD", "/v2/assets/XCP"]


@pytest.mark.parametrize("serve_data", [False, True], ids=["503", "data-while-behind"])
def test_a_node_catching_up_is_unavailable(
    node: CounterpartyEmulator, url: str, serve_data: bool
) -> None:
    node.catch_up(serve_data=serve_data)
    with pytest.raises(BalanceUnavailableError, match="cannot be read now"):
        read(CounterpartyBalances(url), Holder.addresses(["1Alice"]))
    assert len(node.calls) == 3  # the first try and two retries


def test_a_failing_node_is_retried_then_unavailable(node: CounterpartyEmulator, url: str) -> None:
    node.fail(2, status=502)
    assert read(CounterpartyBalances(url), Holder.addresses(["1Bob"]))["MYCARD"] == SAT
    node.fail(3, status=500)
    with pytest.raises(BalanceUnavailableError, match=r"500|failed"):
        read(CounterpartyBalances(url), Holder.addresses(["1Bob"]))


def test_a_stalled_node_is_unavailable_within_the_deadline(
    node: CounterpartyEmulator, url: str
) -> None:
    node.stall(10, seconds=10.0)
    started = time.monotonic()
    with pytest.raises(BalanceUnavailableError):
        read(CounterpartyBalances(url, timeout=0.3, deadline=1.0), Holder.addresses(["1Alice"]))
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("how", ["not-json", "bad-quantity"])
def test_malformed_answers_are_unavailable(
    node: CounterpartyEmulator, url: str, how: Literal["not-json", "bad-quantity"]
) -> None:
    node.malform(how=how)
    with pytest.raises(BalanceUnavailableError, match=r"malformed|not JSON|integer"):
        read(CounterpartyBalances(url), Holder.addresses(["1Alice"]))


def by_address(connection: HTTPConnection) -> Holder | None:
    """The holder of the address a test request names (a wallet sign-in stands in)."""
    address = connection.headers.get("x-address")
    return None if address is None else Holder.addresses([address])


def gated(source: CounterpartyBalances) -> Starlette:
    """An app whose ``/vault`` needs a MYCARD; the source closes with the app."""

    async def vault(request: Request) -> Response:
        return PlainTextResponse("in")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await source.aclose()

    gate = Gate(source, identity=by_address)
    return Starlette(
        routes=[Route("/vault", vault)],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules={"/vault": "MYCARD >= 1"})],
        lifespan=lifespan,
    )


def test_the_gate_answers_on_live_balances_and_503_when_the_node_fails(
    node: CounterpartyEmulator, url: str
) -> None:
    import socket

    source = CounterpartyBalances(url)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    with BackgroundServer(gated(source), listener):
        app = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with httpx2.Client(base_url=app) as client:
            assert client.get("/vault", headers={"x-address": "1Alice"}).status_code == 200
            assert client.get("/vault", headers={"x-address": "1Nobody"}).status_code == 403
            node.fail(3, status=500)
            assert client.get("/vault", headers={"x-address": "1Alice"}).status_code == 503
            node.catch_up()
            assert client.get("/vault", headers={"x-address": "1Alice"}).status_code == 503
            node.catch_up(False)
            node.set_balance("1Nobody", "MYCARD", 1)
            assert client.get("/vault", headers={"x-address": "1Nobody"}).status_code == 200


def test_the_cache_in_front_asks_once_and_never_serves_a_failure(
    node: CounterpartyEmulator, url: str
) -> None:
    source = CounterpartyBalances(url)
    cache = CachedBalances(source, ttl=0.2, stale_for=0.0)
    alice = Holder.addresses(["1Alice"])

    async def scenario() -> tuple[list[Mapping[str, int]], int]:
        answers = await asyncio.gather(*(cache.balances(alice) for _ in range(50)))
        calls = cache.stats.upstream_calls
        await asyncio.sleep(0.3)
        node.catch_up()
        try:
            with pytest.raises(BalanceUnavailableError):
                await cache.balances(alice)
        finally:
            await source.aclose()
        return list(answers), calls

    answers, calls = asyncio.run(scenario())
    assert calls == 1
    assert {answer["XCP"] for answer in answers} == {175_000_000}


def test_usernames_through_an_address_book(url: str) -> None:
    async def book(username: str) -> list[str] | None:
        return {"alice": ["1Alice"], "bob": ["1Bob", "1Alice"]}.get(username)

    assert read(CounterpartyBalances(url, address_book=book), Holder.user("bob")) == {
        "XCP": 175_000_000,
        "MYCARD": 4 * SAT,
        "PARENT.child": 2 * SAT,
    }
    mapping = {"alice": ["1Alice"], "nobody": []}
    assert read(CounterpartyBalances(url, address_book=mapping), Holder.user("alice")) == {
        "XCP": 175_000_000,
        "MYCARD": 3 * SAT,
    }
    assert read(CounterpartyBalances(url, address_book=mapping), Holder.user("nobody")) == {}
    with pytest.raises(UnknownHolderError, match="no user 'carol'"):
        read(CounterpartyBalances(url, address_book=mapping), Holder.user("carol"))
    with pytest.raises(UnknownHolderError, match="no address book"):
        read(CounterpartyBalances(url), Holder.user("alice"))
    with pytest.raises(UnknownHolderError, match="login"):
        read(CounterpartyBalances(url), Holder.token("a-token", owner="alice"))


def test_settings_are_checked() -> None:
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        CounterpartyBalances("http://127.0.0.1:4000", batch_size=0)
    with pytest.raises(InvalidArgumentError, match="page_size"):
        CounterpartyBalances("http://127.0.0.1:4000", page_size=5000)
    with pytest.raises(InvalidArgumentError, match="address_book"):
        CounterpartyBalances("http://127.0.0.1:4000", address_book=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="http"):
        CounterpartyBalances("ftp://node")


DANA_PUBLIC = "1WBjybd6ef5WYV9eWrfU4rHoguJTsbGqt"
DANA_PRIVATE = "1DqupSozZdgmCGkD3vWwGEnr3txZDK45c2"
TREASURY = "1MqU5zdT8kg6dpfjHMKyijtvCbxc8zbfeq"


def test_with_tokenpass_a_login_matches_what_tokenpass_counts() -> None:
    """The sandbox's chain balances live on the emulator too: a protected login read from
    Counterparty plus this app's promises equals Tokenpass's own combined balances."""
    node = CounterpartyEmulator()
    node.issue("TOKENLY")
    node.issue("LTBCOIN")
    node.set_balance(DANA_PUBLIC, "TOKENLY", 150_000_000)
    node.set_balance(DANA_PUBLIC, "LTBCOIN", 100 * SAT)
    node.set_balance(DANA_PRIVATE, "LTBCOIN", 900 * SAT)
    node.set_balance("1GPsgJEs2a6AVF4DQdD4No4wtmYJ4A3C2q", "LTBCOIN", 50000 * SAT)  # inactive
    with SandboxServer(SEED) as sandbox, node.running() as url:
        scopes = ["user", "tca", "private-balances", "private-address", "manage-address"]
        token = sandbox.access_token("dana", scopes)
        unmanaged = sandbox.access_token("dana", scopes[:-1])

        async def compare() -> tuple[dict[str, int], ...]:
            async with AsyncTokenpassClient(
                sandbox.url, sandbox.client_id, sandbox.client_secret
            ) as tokenpass:
                await tokenpass.promise_transaction(TREASURY, DANA_PUBLIC, "TOKENLY", 7 * SAT)
                await tokenpass.promise_transaction(TREASURY, "user:dana", "LTBCOIN", 3 * SAT)
                live = CounterpartyBalances(url, tokenpass=tokenpass)
                official = TokenpassBalances(tokenpass)
                login = Holder.token(token, "protected")
                try:
                    with pytest.raises(InvalidArgumentError, match="manage-address"):
                        await live.balances(Holder.token(unmanaged, "protected"))
                    return (
                        dict(await live.balances(login)),
                        dict(await official.balances(login)),
                        dict(await live.balances(Holder.user("dana"))),
                        dict(await live.balances(Holder.token(unmanaged))),
                    )
                finally:
                    await live.aclose()

        live, official, public, public_login = asyncio.run(compare())
    assert live == official == {"TOKENLY": 850_000_000, "LTBCOIN": 1003 * SAT}
    assert public == public_login == {"TOKENLY": 850_000_000, "LTBCOIN": 103 * SAT}


def test_a_node_answering_about_other_addresses_is_unavailable() -> None:
    """An answer naming an address not asked about is not summed into anyone's balances."""

    async def balances(request: Request) -> Response:
        entry = {"address": "1Mallory", "utxo": None, "utxo_address": None, "quantity": 5}
        group = {"asset": "XCP", "asset_longname": None, "total": 5, "addresses": [entry]}
        return JSONResponse({"result": [group], "next_cursor": None, "result_count": 1})

    lying = Starlette(routes=[Route("/v2/addresses/balances", balances)])
    source = CounterpartyBalances("http://node.test", transport=httpx2.ASGITransport(app=lying))
    with pytest.raises(BalanceUnavailableError, match="not asked about"):
        read(source, Holder.addresses(["1Alice"]))
