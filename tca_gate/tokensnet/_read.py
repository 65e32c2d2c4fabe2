"""Reading Tokens.net's answers: JSON numbers as ``Decimal`` (never float), error
envelopes as their ``TokensNetError``, and each call's values field by field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar, cast

import httpx2

from tca_gate.errors import TokensNetError
from tca_gate.service import (
    Call,
    Fields,
    ShapeError,
    elements,
    exact_json,
    malformed,
    parse_retry_after,
    refusal,
)
from tca_gate.signing.tokensnet import REASONS
from tca_gate.wire.urls import signing_url

from ._errors import error_class_for_code, parameter_of
from ._models import (
    AccountBalance,
    AccountBalances,
    OpenOrders,
    Order,
    OrderBook,
    OrderDetails,
    OrderStatus,
    OrderTrade,
    PlacedOrder,
    PriceLevel,
    PublishStatus,
    Side,
    Ticker,
    Trade,
    Trades,
    TradingPair,
    Voting,
    VotingCandidate,
    VotingWinner,
)

SERVICE = "Tokens.net"
T = TypeVar("T")

_SIDES = ("buy", "sell")
_ORDER_STATUSES = ("Open", "Filled", "Canceled", "Expired")


def read_tokensnet_answer(call: Call[T], response: httpx2.Response) -> T:
    """The call's value, or the ``TokensNetError`` (or shared ``ServiceError``) it means."""
    try:
        data = exact_json(response.content)
    except (ValueError, RecursionError):
        if not response.is_success:
            raise refusal(SERVICE, response) from None
        raise malformed(SERVICE, response.request, "the answer is not JSON") from None
    if isinstance(data, dict) and data.get("status") == "error":
        raise error_from(data, response)
    if not response.is_success:
        raise refusal(SERVICE, response)
    try:
        return call.parse(data)
    except ShapeError as error:
        raise malformed(SERVICE, response.request, str(error), field=error.where) from None


def error_from(body: dict[str, object], response: httpx2.Response) -> TokensNetError:
    """The error an ``{"status": "error", "errorCode": N, "reason": ...}`` answer means."""
    code = body.get("errorCode")
    if isinstance(code, str) and code.isascii() and code.isdigit():
        code = int(code)
    if isinstance(code, bool) or not isinstance(code, int):
        code = 0
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason:
        reason = REASONS.get(code, "no reason given")
    return error_class_for_code(code)(
        reason,
        error_code=code,
        service=SERVICE,
        method=response.request.method,
        url=signing_url(str(response.request.url)),
        status=response.status_code,
        field=parameter_of(reason) if code == 150 else None,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def decimal(fields: Fields, key: str) -> Decimal:
    """An exact number: a decimal string or a JSON number (read as ``Decimal``)."""
    value = fields.get(key)
    if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite():
            return number
    raise ShapeError(fields.place(key), "a decimal number", value)


def optional_decimal(fields: Fields, key: str) -> Decimal | None:
    """An exact number that may be null, absent or empty."""
    return None if fields.absent(key) or fields.get(key) == "" else decimal(fields, key)


def unix_time(fields: Fields, key: str) -> datetime:
    """UNIX seconds (a JSON integer or digit string) as a UTC time."""
    value = fields.get(key)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ShapeError(fields.place(key), "UNIX seconds", fields.get(key))
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise ShapeError(fields.place(key), "UNIX seconds", value) from None


def optional_unix_time(fields: Fields, key: str) -> datetime | None:
    """UNIX seconds that may be null or absent."""
    return None if fields.absent(key) else unix_time(fields, key)


def side(fields: Fields, key: str) -> Side:
    """``buy`` or ``sell``."""
    value = fields.text(key)
    if value not in _SIDES:
        raise ShapeError(fields.place(key), "buy or sell", value)
    return cast(Side, value)


def ticker(data: object) -> Ticker:
    fields = Fields(data)
    amounts = {
        name: decimal(fields, name)
        for name in ("bid", "ask", "open", "low", "high", "last", "vwap", "volume", "volume_usdt")
    }
    return Ticker(timestamp=unix_time(fields, "timestamp"), **amounts)


def trade(fields: Fields) -> Trade:
    return Trade(
        id=fields.integer("id"),
        datetime=unix_time(fields, "datetime"),
        type=side(fields, "type"),
        price=decimal(fields, "price"),
        amount=decimal(fields, "amount"),
    )


def trades(data: object) -> Trades:
    fields = Fields(data)
    return Trades(unix_time(fields, "timestamp"), fields.each("trades", trade))


def trading_pairs(data: object) -> tuple[TradingPair, ...]:
    answer = Fields(data)
    found = []
    for symbol in answer.names():
        fields = answer.fields(symbol)
        found.append(
            TradingPair(
                symbol=symbol,
                title=fields.text("title"),
                amount_decimals=fields.integer("amountDecimals"),
                price_decimals=fields.integer("priceDecimals"),
                min_amount=decimal(fields, "minAmount"),
                base_currency=fields.text("baseCurrency"),
                counter_currency=fields.text("counterCurrency"),
            )
        )
    return tuple(found)


def _levels(fields: Fields, key: str) -> tuple[PriceLevel, ...]:
    levels = []
    for place, entry in fields.elements(key):
        pair = elements(entry, place)
        if len(pair) != 2:
            raise ShapeError(place, "[amount, price]", entry)
        level = Fields({"amount": pair[0][1], "price": pair[1][1]}, place)
        levels.append(PriceLevel(decimal(level, "amount"), decimal(level, "price")))
    return tuple(levels)


def order_book(data: object) -> OrderBook:
    fields = Fields(data)
    return OrderBook(
        unix_time(fields, "timestamp"), _levels(fields, "bids"), _levels(fields, "asks")
    )


def balance(data: object) -> AccountBalance:
    fields = Fields(data)
    return AccountBalance(
        timestamp=unix_time(fields, "timestamp"),
        currency=fields.text("currency"),
        total=decimal(fields, "total"),
        available=decimal(fields, "available"),
    )


def balances(data: object) -> AccountBalances:
    """``balances``: a list of the single-currency answer's objects (``currency``,
    ``total``, ``available``), or an object of such objects keyed by currency. The
    document gives no example of this answer, so both readings are taken; nothing else."""
    fields = Fields(data)
    when = unix_time(fields, "timestamp")
    if isinstance(fields.get("balances"), dict):
        keyed = fields.mapping("balances")
        found = []
        for currency in keyed.names():
            entry = keyed.fields(currency)
            if not entry.absent("currency") and entry.get("currency") != currency:
                raise ShapeError(entry.place("currency"), repr(currency), entry.get("currency"))
            found.append(
                AccountBalance(when, currency, decimal(entry, "total"), decimal(entry, "available"))
            )
        return AccountBalances(when, tuple(found))

    def one(entry: Fields) -> AccountBalance:
        total, available = decimal(entry, "total"), decimal(entry, "available")
        return AccountBalance(when, entry.text("currency"), total, available)

    return AccountBalances(when, fields.each("balances", one))


def order(fields: Fields) -> Order:
    return Order(
        id=fields.text("id"),
        created=unix_time(fields, "created"),
        type=side(fields, "type"),
        price=decimal(fields, "price"),
        amount=decimal(fields, "amount"),
        remaining_amount=decimal(fields, "remainingAmount"),
        currency_pair=fields.text("currencyPair"),
        take_profit=optional_decimal(fields, "takeProfit"),
    )


def order_trade(fields: Fields) -> OrderTrade:
    return OrderTrade(
        id=fields.integer("id"),
        datetime=unix_time(fields, "datetime"),
        type=side(fields, "type"),
        price=decimal(fields, "price"),
        amount=decimal(fields, "amount"),
        value=decimal(fields, "value"),
    )


def order_details(data: object) -> OrderDetails:
    fields = Fields(data)
    status = fields.text("orderStatus")
    if status not in _ORDER_STATUSES:
        raise ShapeError("orderStatus", "Open, Filled, Canceled or Expired", status)
    trades_of = () if fields.absent("trades") else fields.each("trades", order_trade)
    return OrderDetails(
        timestamp=unix_time(fields, "timestamp"),
        order=order(fields),
        status=cast(OrderStatus, status),
        trades=trades_of,
    )


def open_orders(data: object) -> OpenOrders:
    fields = Fields(data)
    return OpenOrders(unix_time(fields, "timestamp"), fields.each("openOrders", order))


def placed_order(data: object) -> PlacedOrder:
    fields = Fields(data)
    return PlacedOrder(unix_time(fields, "timestamp"), fields.text("orderId"))


def cancelled(data: object) -> None:
    fields = Fields(data)
    if fields.get("status") != "ok":
        raise ShapeError("status", '"ok"', fields.get("status"))


def _winner(fields: Fields) -> VotingWinner:
    status = fields.integer("publishStatus")
    try:
        publish_status = PublishStatus(status)
    except ValueError:
        raise ShapeError(fields.place("publishStatus"), "0, 1 or 2", status) from None
    return VotingWinner(
        currency=fields.text("currency"),
        currency_name=fields.text("currencyName"),
        total_votes=fields.integer("totalVotes"),
        publish_status=publish_status,
        win_date=optional_unix_time(fields, "winDate"),
        add_to_market_date=optional_unix_time(fields, "addToMarketDate"),
    )


def _candidate(fields: Fields) -> VotingCandidate:
    return VotingCandidate(
        fields.text("currency"), fields.text("currencyName"), fields.integer("votes")
    )


def voting(data: object) -> Voting:
    fields = Fields(data)
    return Voting(
        timestamp=unix_time(fields, "timestamp"),
        voting_end_date=optional_unix_time(fields, "votingEndDate"),
        winners=fields.each("winnerList", _winner),
        candidates=fields.each("activeList", _candidate),
    )
