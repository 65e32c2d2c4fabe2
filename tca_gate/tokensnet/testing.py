"""``TokensNetEmulator``: a small Tokens.net for tests and examples (a Starlette app).

It answers every documented call with the document's shapes (and
``/private/balance/all/``, which the document names without an example, with a
``balances`` list of the single-currency answer's objects), checks each private
request with ``TokensNetAuthMiddleware`` and keeps orders and balances in memory.
``accepted_nonces`` lists the nonces it let through, per key; ``rate_limit(n)`` makes
the next ``n`` requests answer error 429. ``running()`` serves it on loopback
(needs uvicorn, as in the ``sandbox`` extra)::

    >>> from tca_gate.tokensnet import TokensNetClient
    >>> emulator = TokensNetEmulator({"my-key": "my-secret"})
    >>> with emulator.running() as url:
    ...     with TokensNetClient("my-key", "my-secret", base_url=url) as tokens:
    ...         print(tokens.ticker("btcusdt").last, tokens.balance("btc").available)
    1234.56 0.12345678
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tca_gate.signing.tokensnet import (
    REASONS,
    NonceLedger,
    TokensNetAuthMiddleware,
    error_body,
    send_error,
)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOW = 1234567890

#: The trading pairs, as Tokens.net writes them (``minAmount`` a JSON number).
PAIRS_JSON = (
    '{"btcusdt": {"title": "BTC/USDT", "amountDecimals": 8, "priceDecimals": 2, '
    '"minAmount": 0.0005, "baseCurrency": "btc", "counterCurrency": "usdt"}, '
    '"ethbtc": {"title": "ETH/BTC", "amountDecimals": 8, "priceDecimals": 8, '
    '"minAmount": 0.01, "baseCurrency": "eth", "counterCurrency": "btc"}}'
)
MIN_AMOUNTS = {"btcusdt": Decimal("0.0005"), "ethbtc": Decimal("0.01")}

#: Every account's balances: currency to (total, available); ``usdt`` is held at zero.
BALANCES = {
    "btc": ("0.12345678", "0.12345678"),
    "eth": ("2.50000000", "1.25000000"),
    "usdt": ("0.00000000", "0.00000000"),
}


@dataclass
class _Order:
    id: str
    pair: str
    side: str
    price: Decimal
    amount: Decimal
    take_profit: Decimal | None
    expire_date: int | None
    status: str = "Open"
    owner: str = ""
    trades: list[dict[str, object]] = field(default_factory=list)

    def listed(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created": NOW,
            "type": self.side,
            "price": str(self.price),
            "amount": str(self.amount),
            "remainingAmount": str(self.amount),
            "currencyPair": self.pair,
            "takeProfit": None if self.take_profit is None else str(self.take_profit),
        }


class _RefusalError(Exception):
    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or REASONS[code]


class TokensNetEmulator:
    """An in-memory Tokens.net for ``accounts`` (``{api_key: secret}``)."""

    def __init__(self, accounts: Mapping[str, str]) -> None:
        self.accounts = dict(accounts)
        self.ledger = NonceLedger()
        self.accepted_nonces: dict[str, list[int]] = {}
        self.orders: dict[str, _Order] = {}
        self._limited = 0
        self._lock = threading.Lock()
        routes = [
            Route("/public/ticker/hour/{pair}/", self._ticker),
            Route("/public/ticker/{pair}/", self._ticker),
            Route("/public/trades/{period:str}/{pair}/", self._trades),
            Route("/public/trading-pairs/get/all/", self._pairs),
            Route("/public/order-book/{pair}/", self._order_book),
            Route("/public/voting/get/all/", self._voting),
            Route("/private/balance/all/", self._balance_all),
            Route("/private/balance/{currency}/", self._balance),
            Route("/private/orders/get/all/", self._all_orders),
            Route("/private/orders/get/{ref}/", self._get_orders),
            Route("/private/orders/add/limit/", self._place, methods=["POST"]),
            Route("/private/orders/cancel/{id}/", self._cancel, methods=["POST"]),
        ]
        inner = Starlette(routes=routes)
        self._app = TokensNetAuthMiddleware(inner, secret_for=self.accounts, ledger=self.ledger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self._lock:
                limited = self._limited > 0
                self._limited -= limited
            if limited:
                await send_error(send, 429, 429, REASONS[429])
                return
        await self._app(scope, receive, send)

    def rate_limit(self, requests: int) -> None:
        """Answer the next ``requests`` requests with error 429."""
        with self._lock:
            self._limited = requests

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve on a free loopback port (needs uvicorn); yields the base URL."""
        from tca_gate.wire.serving import BackgroundServer  # noqa: PLC0415 (needs uvicorn)

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        with BackgroundServer(self, listener, name="the Tokens.net emulator", lifespan="off"):
            yield f"http://127.0.0.1:{listener.getsockname()[1]}"

    # -- answers ------------------------------------------------------------------------

    @staticmethod
    def _ok(**fields: object) -> JSONResponse:
        return JSONResponse({"status": "ok", "timestamp": NOW, **fields})

    def _accept(self, request: Request) -> str:
        verified = request.state.tokensnet
        with self._lock:
            self.accepted_nonces.setdefault(verified.api_key, []).append(verified.nonce)
        return str(verified.api_key)

    async def _ticker(self, request: Request) -> JSONResponse:
        return _answer(lambda: self._ticker_of(request.path_params["pair"]))

    def _ticker_of(self, pair: str) -> JSONResponse:
        _pair(pair)
        price = "1234.56"
        return self._ok(
            bid=price, open=price, low=price, high=price, last=price, ask=price,
            vwap="1234.50000000", volume="1.50000000", volume_usdt="1851.75000000",
        )  # fmt: skip

    async def _trades(self, request: Request) -> JSONResponse:
        def answer() -> JSONResponse:
            if request.path_params["period"] not in ("minute", "hour", "day"):
                raise _RefusalError(150, "Parameter period is invalid with error: unknown")
            _pair(request.path_params["pair"])
            trade = {"id": 1234567, "datetime": NOW, "price": "1234.56", "type": "buy",
                     "amount": "0.12345678"}  # fmt: skip
            return self._ok(trades=[trade])

        return _answer(answer)

    async def _pairs(self, request: Request) -> Response:
        return Response(PAIRS_JSON, media_type="application/json")

    async def _order_book(self, request: Request) -> JSONResponse:
        def answer() -> JSONResponse:
            _pair(request.path_params["pair"])
            return self._ok(bids=[["0.01234", "9500.12"]], asks=[["0.01234", "9501.12"]])

        return _answer(answer)

    async def _voting(self, request: Request) -> JSONResponse:
        winner = {"currency": "XLM", "currencyName": "Stellar", "totalVotes": 10000,
                  "publishStatus": 2, "winDate": NOW, "addToMarketDate": NOW}  # fmt: skip
        active = {"currency": "ADA", "currencyName": "Cardano", "votes": 5000}
        return self._ok(votingEndDate=NOW, winnerList=[winner], activeList=[active])

    async def _balance(self, request: Request) -> JSONResponse:
        self._accept(request)

        def answer() -> JSONResponse:
            currency = request.path_params["currency"]
            if currency not in BALANCES:
                raise _RefusalError(160)
            total, available = BALANCES[currency]
            return self._ok(total=total, currency=currency.upper(), available=available)

        return _answer(answer)

    async def _balance_all(self, request: Request) -> JSONResponse:
        self._accept(request)
        held = [
            {"currency": currency.upper(), "total": total, "available": available}
            for currency, (total, available) in BALANCES.items()
            if Decimal(total) != 0
        ]
        return self._ok(balances=held)

    def _open_of(self, owner: str, pair: str | None = None) -> list[dict[str, object]]:
        with self._lock:
            return [
                order.listed()
                for order in self.orders.values()
                if order.owner == owner and order.status == "Open" and pair in (None, order.pair)
            ]

    async def _all_orders(self, request: Request) -> JSONResponse:
        owner = self._accept(request)
        return self._ok(openOrders=self._open_of(owner))

    async def _get_orders(self, request: Request) -> JSONResponse:
        owner = self._accept(request)
        ref = request.path_params["ref"]

        def answer() -> JSONResponse:
            if _UUID.fullmatch(ref):
                order = self._order_of(owner, ref)
                trades = list(order.trades)
                return self._ok(**order.listed(), orderStatus=order.status, trades=trades)
            _pair(ref)
            return self._ok(openOrders=self._open_of(owner, ref))

        return _answer(answer)

    def _order_of(self, owner: str, order_id: str) -> _Order:
        with self._lock:
            order = self.orders.get(order_id)
        if order is None or order.owner != owner:
            raise _RefusalError(131)
        return order

    async def _place(self, request: Request) -> JSONResponse:
        owner = self._accept(request)
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))

        def answer() -> JSONResponse:
            pair = form.get("tradingPair", "")
            _pair(pair)
            side = form.get("side")
            if side not in ("buy", "sell"):
                raise _RefusalError(150, "Parameter side is invalid with error: buy or sell")
            amount = _positive(form, "amount")
            if amount < MIN_AMOUNTS[pair]:
                raise _RefusalError(150, "Parameter amount is invalid with error: below minimum")
            price = _positive(form, "price")
            take_profit = _positive(form, "takeProfit") if "takeProfit" in form else None
            expire = form.get("expireDate")
            if expire is not None and not expire.isdigit():
                raise _RefusalError(
                    150, "Parameter expireDate is invalid with error: not a timestamp"
                )
            order = _Order(
                str(uuid.uuid4()), pair, side, price, amount, take_profit,
                None if expire is None else int(expire), owner=owner,
            )  # fmt: skip
            with self._lock:
                self.orders[order.id] = order
            return self._ok(orderId=order.id)

        return _answer(answer)

    async def _cancel(self, request: Request) -> JSONResponse:
        owner = self._accept(request)

        def answer() -> JSONResponse:
            order = self._order_of(owner, request.path_params["id"])
            with self._lock:
                if order.status != "Open":
                    raise _RefusalError(140)
                order.status = "Canceled"
            return self._ok()

        return _answer(answer)


def _answer(make: object) -> JSONResponse:
    assert callable(make)
    try:
        response: JSONResponse = make()
    except _RefusalError as refusal:
        return JSONResponse(error_body(refusal.code, refusal.reason), status_code=400)
    return response


def _pair(pair: str) -> None:
    if pair not in MIN_AMOUNTS:
        raise _RefusalError(130)


def _positive(form: Mapping[str, str], name: str) -> Decimal:
    try:
        number = Decimal(form.get(name, ""))
    except InvalidOperation:
        number = Decimal(0)
    if not number.is_finite() or number <= 0:
        raise _RefusalError(150, f"Parameter {name} is invalid with error: not a positive number")
    return number
