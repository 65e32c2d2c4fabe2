"""What Tokens.net answers, as frozen values: prices and amounts are exact ``Decimal``s,
times are UTC ``datetime``s (the API sends UNIX seconds)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import Literal

#: A side of an order or trade.
Side = Literal["buy", "sell"]


@dataclass(frozen=True, slots=True)
class Ticker:
    """A trading pair's last day or hour."""

    timestamp: datetime
    bid: Decimal
    ask: Decimal
    open: Decimal
    low: Decimal
    high: Decimal
    last: Decimal
    vwap: Decimal
    volume: Decimal
    volume_usdt: Decimal


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade on the market."""

    id: int
    datetime: datetime
    type: Side
    price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Trades:
    """The trades of the last minute, hour or day."""

    timestamp: datetime
    trades: tuple[Trade, ...]


@dataclass(frozen=True, slots=True)
class TradingPair:
    """A market, such as ``btcusdt`` (``BTC/USDT``)."""

    symbol: str
    title: str
    amount_decimals: int
    price_decimals: int
    min_amount: Decimal
    base_currency: str
    counter_currency: str


@dataclass(frozen=True, slots=True)
class PriceLevel:
    """An order-book entry: the document lists ``[amount, price]``."""

    amount: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class OrderBook:
    """The open buy (``bids``) and sell (``asks``) orders of a pair, as the answer orders them."""

    timestamp: datetime
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """The account's balance of one currency."""

    timestamp: datetime
    currency: str
    total: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class AccountBalances:
    """The account's balances of every currency it holds (the non-zero ones), in the
    answer's order; ``of`` finds one, in any case.

    >>> from datetime import UTC, datetime
    >>> from decimal import Decimal
    >>> from tca_gate.tokensnet import AccountBalance, AccountBalances
    >>> when = datetime.fromtimestamp(0, UTC)
    >>> btc = AccountBalance(when, "BTC", Decimal("0.5"), Decimal("0.25"))
    >>> AccountBalances(when, (btc,)).of("btc").available, AccountBalances(when, ()).of("btc")
    (Decimal('0.25'), None)
    """

    timestamp: datetime
    balances: tuple[AccountBalance, ...]

    def of(self, currency: str) -> AccountBalance | None:
        """The balance of ``currency`` (``btc`` or ``BTC``); ``None`` when it holds none."""
        wanted = currency.upper()
        return next((found for found in self.balances if found.currency.upper() == wanted), None)


@dataclass(frozen=True, slots=True)
class Order:
    """One of the account's orders (``take_profit`` is ``None`` when it has none)."""

    id: str
    created: datetime
    type: Side
    price: Decimal
    amount: Decimal
    remaining_amount: Decimal
    currency_pair: str
    take_profit: Decimal | None


@dataclass(frozen=True, slots=True)
class OrderTrade:
    """A trade that filled part of an order."""

    id: int
    datetime: datetime
    type: Side
    price: Decimal
    amount: Decimal
    value: Decimal


OrderStatus = Literal["Open", "Filled", "Canceled", "Expired"]


@dataclass(frozen=True, slots=True)
class OrderDetails:
    """One order with its status and trades."""

    timestamp: datetime
    order: Order
    status: OrderStatus
    trades: tuple[OrderTrade, ...]


@dataclass(frozen=True, slots=True)
class OpenOrders:
    """The account's open orders (all, or a pair's)."""

    timestamp: datetime
    orders: tuple[Order, ...]


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """The id of an order just placed."""

    timestamp: datetime
    order_id: str


class PublishStatus(IntEnum):
    """Where a voting winner stands."""

    DATE_UNKNOWN = 0
    DATE_KNOWN = 1
    TRADING = 2


@dataclass(frozen=True, slots=True)
class VotingWinner:
    """A currency that won the vote."""

    currency: str
    currency_name: str
    total_votes: int
    publish_status: PublishStatus
    win_date: datetime | None
    add_to_market_date: datetime | None


@dataclass(frozen=True, slots=True)
class VotingCandidate:
    """A currency in the running vote."""

    currency: str
    currency_name: str
    votes: int


@dataclass(frozen=True, slots=True)
class Voting:
    """The vote for new currencies: past winners and the running candidates."""

    timestamp: datetime
    voting_end_date: datetime | None
    winners: tuple[VotingWinner, ...]
    candidates: tuple[VotingCandidate, ...]
