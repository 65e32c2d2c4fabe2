"""Every Tokens.net call as a ``Call``: its path, parameters and answer reader."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import Call, path, unix_seconds
from tca_gate.tokensnet import _read

from ._models import (
    AccountBalance,
    AccountBalances,
    OpenOrders,
    OrderBook,
    OrderDetails,
    PlacedOrder,
    Side,
    Ticker,
    Trades,
    TradingPair,
    Voting,
)

T = TypeVar("T")

#: A trading pair or currency id: lowercase letters and digits (``btcusdt``, ``btc``).
_SYMBOL = re.compile(r"[a-z0-9]{1,32}")


@dataclass(frozen=True, slots=True)
class Account:
    """Whether the client has credentials: private calls need them."""

    api_key: str | None


def _symbol(value: object, what: str) -> str:
    if not isinstance(value, str) or not _SYMBOL.fullmatch(value):
        raise InvalidArgumentError(
            f"{what} must be lowercase letters and digits (like 'btcusdt'), not {value!r}"
        )
    return value


def _pair(value: object) -> str:
    pair = _symbol(value, "trading_pair")
    if pair == "all":
        raise InvalidArgumentError("trading_pair 'all' would list every order; call orders()")
    return pair


def _order_id(value: object) -> str:
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else _bad_id(value)
    except ValueError:
        return _bad_id(value)


def _bad_id(value: object) -> str:
    raise InvalidArgumentError(f"order_id must be an order's UUID, not {value!r}")


def _public(template: str, trading_pair: str, read: Callable[[object], T]) -> Call[T]:
    """An unsigned GET of ``template`` with its ``{pair}`` the checked ``trading_pair``."""
    return Call("GET", path(template, pair=_pair(trading_pair)), read, signed=False)


def _private(account: Account) -> None:
    if account.api_key is None:
        raise InvalidArgumentError("private Tokens.net calls need the client's api_key and secret")


def ticker(account: Account, trading_pair: str) -> Call[Ticker]:
    """The pair's ticker for the last day."""
    return _public("/public/ticker/{pair}/", trading_pair, _read.ticker)


def ticker_hour(account: Account, trading_pair: str) -> Call[Ticker]:
    """The pair's ticker for the last hour."""
    return _public("/public/ticker/hour/{pair}/", trading_pair, _read.ticker)


def trades_minute(account: Account, trading_pair: str) -> Call[Trades]:
    """The pair's trades in the last minute."""
    return _public("/public/trades/minute/{pair}/", trading_pair, _read.trades)


def trades_hour(account: Account, trading_pair: str) -> Call[Trades]:
    """The pair's trades in the last hour."""
    return _public("/public/trades/hour/{pair}/", trading_pair, _read.trades)


def trades_day(account: Account, trading_pair: str) -> Call[Trades]:
    """The pair's trades in the last day."""
    return _public("/public/trades/day/{pair}/", trading_pair, _read.trades)


def trading_pairs(account: Account) -> Call[tuple[TradingPair, ...]]:
    """Every trading pair, in the answer's order."""
    return Call("GET", "/public/trading-pairs/get/all/", _read.trading_pairs, signed=False)


def order_book(account: Account, trading_pair: str) -> Call[OrderBook]:
    """The pair's open buy and sell orders."""
    return _public("/public/order-book/{pair}/", trading_pair, _read.order_book)


def voting(account: Account) -> Call[Voting]:
    """The currencies in the vote, winners and candidates."""
    return Call("GET", "/public/voting/get/all/", _read.voting, signed=False)


def balance(account: Account, currency: str) -> Call[AccountBalance]:
    """The account's balance of ``currency`` (like ``btc``)."""
    _private(account)
    symbol = _symbol(currency, "currency")
    if symbol == "all":
        raise InvalidArgumentError("currency 'all' lists every balance; call balance_all()")
    return Call("GET", path("/private/balance/{currency}/", currency=symbol), _read.balance)


def balance_all(account: Account) -> Call[AccountBalances]:
    """The account's balance of every currency it holds (those not zero)."""
    _private(account)
    return Call("GET", "/private/balance/all/", _read.balances)


def orders(account: Account) -> Call[OpenOrders]:
    """The account's open orders."""
    _private(account)
    return Call("GET", "/private/orders/get/all/", _read.open_orders)


def order(account: Account, order_id: str) -> Call[OrderDetails]:
    """One of the account's orders, with its status and trades."""
    _private(account)
    return Call(
        "GET", path("/private/orders/get/{id}/", id=_order_id(order_id)), _read.order_details
    )


def orders_for_pair(account: Account, trading_pair: str) -> Call[OpenOrders]:
    """The account's orders for one trading pair."""
    _private(account)
    where = path("/private/orders/get/{pair}/", pair=_pair(trading_pair))
    return Call("GET", where, _read.open_orders)


def place_limit_order(
    account: Account,
    trading_pair: str,
    side: Side,
    amount: Decimal | int | str,
    price: Decimal | int | str,
    *,
    take_profit: Decimal | int | str | None = None,
    expire_date: datetime | int | None = None,
) -> Call[PlacedOrder]:
    """Place a limit order to ``side`` (``buy`` or ``sell``) ``amount`` at ``price``;
    optionally taking profit at ``take_profit`` and expiring at ``expire_date``.

    Never retried: a lost answer cannot tell whether the order was placed.
    """
    _private(account)
    if side not in ("buy", "sell"):
        raise InvalidArgumentError(f"side must be 'buy' or 'sell', not {side!r}")
    form = {
        "tradingPair": _pair(trading_pair),
        "side": side,
        "amount": number_text(amount, "amount"),
        "price": number_text(price, "price"),
    }
    if take_profit is not None:
        form["takeProfit"] = number_text(take_profit, "take_profit")
    if expire_date is not None:
        form["expireDate"] = str(unix_seconds("expire_date", expire_date, positive=True))
    return Call("POST", "/private/orders/add/limit/", _read.placed_order, form=form)


def cancel_order(account: Account, order_id: str) -> Call[None]:
    """Cancel an open order (error 140 if it is not open)."""
    _private(account)
    where = path("/private/orders/cancel/{id}/", id=_order_id(order_id))
    return Call("POST", where, _read.cancelled)


def number_text(value: object, what: str) -> str:
    """A positive exact number as plain decimal text (never a float, never an exponent).

    >>> number_text(Decimal("1E+2"), "amount"), number_text("0.00012300", "price")
    ('100', '0.00012300')
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise InvalidArgumentError(
            f"{what} must be a Decimal, int or decimal string (never a float), "
            f"not {type(value).__name__}"
        )
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidArgumentError(f"{what} must be a decimal number, not {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise InvalidArgumentError(f"{what} must be a positive number, not {value!r}")
    return format(number, "f")
