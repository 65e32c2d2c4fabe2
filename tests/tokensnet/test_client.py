"""Every Tokens.net client method, sync and async, against the emulator under uvicorn.

The emulator checks each private request's signature with ``TokensNetAuthMiddleware``;
answers are read with exact decimals and UNIX times as UTC datetimes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tca_gate.errors import InvalidArgumentError
from tca_gate.tokensnet import (
    AccountBalance,
    AccountBalances,
    AsyncTokensNetClient,
    OpenOrders,
    OrderBook,
    OrderDetails,
    PriceLevel,
    PublishStatus,
    Ticker,
    TokensNetClient,
    Trades,
    TradingPair,
    Voting,
)
from tca_gate.tokensnet.testing import TokensNetEmulator
from tests.support.servers import serve

KEY, SECRET = "client-key", "client-secret"
WHEN = datetime.fromtimestamp(1234567890, UTC)
MODES = ["sync", "async"]

Caller = Callable[..., Any]


@pytest.fixture(scope="module")
def emulator() -> TokensNetEmulator:
    return TokensNetEmulator({KEY: SECRET})


@pytest.fixture(scope="module")
def url(emulator: TokensNetEmulator) -> Iterator[str]:
    with serve(emulator) as base_url:
        yield base_url


@contextlib.contextmanager
def caller(mode: str, url: str, *credentials: str) -> Iterator[Caller]:
    """``call(name, *args)`` on a sync or an async client (awaited on one loop)."""
    key_secret = credentials or (KEY, SECRET)
    if mode == "sync":
        with TokensNetClient(*key_secret, base_url=url) as client:
            yield lambda name, *args, **kwargs: getattr(client, name)(*args, **kwargs)
        return
    with asyncio.Runner() as runner:
        aclient = AsyncTokensNetClient(*key_secret, base_url=url)
        try:
            yield lambda name, *args, **kwargs: runner.run(getattr(aclient, name)(*args, **kwargs))
        finally:
            runner.run(aclient.aclose())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["ticker", "ticker_hour"])
def test_tickers(url: str, mode: str, name: str) -> None:
    with caller(mode, url) as call:
        ticker = call(name, "btcusdt")
    assert ticker == Ticker(
        timestamp=WHEN,
        bid=Decimal("1234.56"),
        ask=Decimal("1234.56"),
        open=Decimal("1234.56"),
        low=Decimal("1234.56"),
        high=Decimal("1234.56"),
        last=Decimal("1234.56"),
        vwap=Decimal("1234.50000000"),
        volume=Decimal("1.50000000"),
        volume_usdt=Decimal("1851.75000000"),
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["trades_minute", "trades_hour", "trades_day"])
def test_trades(url: str, mode: str, name: str) -> None:
    with caller(mode, url) as call:
        trades = call(name, "btcusdt")
    assert isinstance(trades, Trades)
    (trade,) = trades.trades
    assert (trade.id, trade.datetime, trade.type) == (1234567, WHEN, "buy")
    assert (trade.price, trade.amount) == (Decimal("1234.56"), Decimal("0.12345678"))


@pytest.mark.parametrize("mode", MODES)
def test_trading_pairs_read_json_numbers_exactly(url: str, mode: str) -> None:
    with caller(mode, url) as call:
        pairs = call("trading_pairs")
    assert pairs[0] == TradingPair("btcusdt", "BTC/USDT", 8, 2, Decimal("0.0005"), "btc", "usdt")
    assert [pair.symbol for pair in pairs] == ["btcusdt", "ethbtc"]
    assert type(pairs[1].min_amount) is Decimal
    assert str(pairs[1].min_amount) == "0.01"


@pytest.mark.parametrize("mode", MODES)
def test_order_book(url: str, mode: str) -> None:
    with caller(mode, url) as call:
        book = call("order_book", "btcusdt")
    assert book == OrderBook(
        WHEN,
        bids=(PriceLevel(Decimal("0.01234"), Decimal("9500.12")),),
        asks=(PriceLevel(Decimal("0.01234"), Decimal("9501.12")),),
    )


@pytest.mark.parametrize("mode", MODES)
def test_voting(url: str, mode: str) -> None:
    with caller(mode, url) as call:
        voting = call("voting")
    assert isinstance(voting, Voting)
    (winner,) = voting.winners
    assert (winner.currency, winner.total_votes, winner.publish_status) == (
        "XLM",
        10000,
        PublishStatus.TRADING,
    )
    assert winner.add_to_market_date == WHEN
    assert [(c.currency, c.currency_name, c.votes) for c in voting.candidates] == [
        ("ADA", "Cardano", 5000)
    ]


@pytest.mark.parametrize("mode", MODES)
def test_balance(url: str, mode: str, emulator: TokensNetEmulator) -> None:
    before = len(emulator.accepted_nonces.get(KEY, []))
    with caller(mode, url) as call:
        balance = call("balance", "btc")
    assert balance == AccountBalance(WHEN, "BTC", Decimal("0.12345678"), Decimal("0.12345678"))
    assert len(emulator.accepted_nonces[KEY]) == before + 1


@pytest.mark.parametrize("mode", MODES)
def test_balance_all_lists_every_currency_held(
    url: str, mode: str, emulator: TokensNetEmulator
) -> None:
    before = len(emulator.accepted_nonces.get(KEY, []))
    with caller(mode, url) as call:
        balances: AccountBalances = call("balance_all")
    assert balances == AccountBalances(
        WHEN,
        (
            AccountBalance(WHEN, "BTC", Decimal("0.12345678"), Decimal("0.12345678")),
            AccountBalance(WHEN, "ETH", Decimal("2.50000000"), Decimal("1.25000000")),
        ),
    )
    assert balances.of("usdt") is None  # held at zero: not listed
    eth = balances.of("eth")
    assert eth is not None
    assert str(eth.available) == "1.25000000"
    assert len(emulator.accepted_nonces[KEY]) == before + 1


@pytest.mark.parametrize("mode", MODES)
def test_order_lifecycle(url: str, mode: str, emulator: TokensNetEmulator) -> None:
    with caller(mode, url) as call:
        placed = call(
            "place_limit_order",
            "btcusdt",
            "buy",
            Decimal("1E-3"),
            "9500.10",
            take_profit=Decimal("9999.99"),
            expire_date=datetime(2038, 1, 19, tzinfo=UTC),
        )
        stored = emulator.orders[placed.order_id]
        assert (stored.amount, stored.price, stored.take_profit) == (
            Decimal("0.001"),
            Decimal("9500.10"),
            Decimal("9999.99"),
        )
        assert stored.expire_date == int(datetime(2038, 1, 19, tzinfo=UTC).timestamp())

        details = call("order", placed.order_id)
        assert isinstance(details, OrderDetails)
        assert (details.status, details.order.id, details.order.price) == (
            "Open",
            placed.order_id,
            Decimal("9500.10"),
        )
        assert details.order.take_profit == Decimal("9999.99")

        every = call("orders")
        for_pair = call("orders_for_pair", "btcusdt")
        other_pair = call("orders_for_pair", "ethbtc")
        assert isinstance(every, OpenOrders)
        assert placed.order_id in {order.id for order in every.orders}
        assert placed.order_id in {order.id for order in for_pair.orders}
        assert placed.order_id not in {order.id for order in other_pair.orders}

        assert call("cancel_order", placed.order_id) is None
        assert call("order", placed.order_id).status == "Canceled"
        assert placed.order_id not in {order.id for order in call("orders").orders}


@pytest.mark.parametrize("mode", MODES)
def test_order_without_take_profit_or_expiry(
    url: str, mode: str, emulator: TokensNetEmulator
) -> None:
    with caller(mode, url) as call:
        placed = call("place_limit_order", "ethbtc", "sell", 2, Decimal("0.05"))
        details = call("order", placed.order_id)
    assert details.order.take_profit is None
    assert (details.order.type, details.order.amount) == ("sell", Decimal(2))
    assert emulator.orders[placed.order_id].expire_date is None


def test_public_only_client_refuses_private_calls_before_sending(url: str) -> None:
    with TokensNetClient(base_url=url) as client:
        assert client.ticker("btcusdt").last == Decimal("1234.56")
        with pytest.raises(InvalidArgumentError, match="api_key and secret"):
            client.balance("btc")


def test_credentials_come_in_pairs() -> None:
    with pytest.raises(InvalidArgumentError, match="both api_key and secret"):
        TokensNetClient(KEY)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.ticker("BTC/USDT"), "lowercase letters and digits"),
        (lambda c: c.orders_for_pair("all"), "call orders"),
        (lambda c: c.balance("all"), r"call balance_all\(\)"),
        (lambda c: c.order("btcusdt"), "order's UUID"),
        (lambda c: c.cancel_order("../all"), "order's UUID"),
        (lambda c: c.place_limit_order("btcusdt", "buy", 0.1, "1"), "never a float"),
        (lambda c: c.place_limit_order("btcusdt", "buy", "-1", "1"), "positive"),
        (lambda c: c.place_limit_order("btcusdt", "buy", "NaN", "1"), "positive"),
        (lambda c: c.place_limit_order("btcusdt", "hold", "1", "1"), "'buy' or 'sell'"),
        (
            lambda c: c.place_limit_order(
                "btcusdt", "buy", "1", "1", expire_date=datetime(2030, 1, 1)
            ),
            "aware datetime",
        ),
    ],
)
def test_bad_arguments_are_refused_before_sending(call: Caller, message: str) -> None:
    with (
        TokensNetClient(KEY, SECRET, base_url="http://127.0.0.1:9") as client,
        pytest.raises(InvalidArgumentError, match=message),
    ):
        call(client)
