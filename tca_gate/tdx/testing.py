"""An emulator of a TDX-style API for tests and examples: a Starlette app whose every
request is checked by ``TDXAuthMiddleware``.

``/api/v1/orders`` lists (GET, with ``limit``) and places (POST, a JSON object) orders
kept in memory; ``/api/v1/whoami`` answers what the verified request was signed with.

>>> import asyncio, httpx2
>>> from tca_gate.tdx import AsyncTDXClient, TDXAuth
>>> app = emulator_app({"demo-key": "0c3c11e3e74de307866a2d67a9c71f97"})
>>> async def main():
...     auth = TDXAuth("demo-key", "0c3c11e3e74de307866a2d67a9c71f97")
...     transport = httpx2.ASGITransport(app=app)
...     async with AsyncTDXClient("http://tdx.test", auth, transport=transport) as tdx:
...         await tdx.post("/api/v1/orders", {"side": "buy", "quantity": "10.5"})
...         return await tdx.get("/api/v1/orders", {"limit": 10})
>>> asyncio.run(main())
[{'id': 1, 'side': 'buy', 'quantity': '10.5', 'price': Decimal('0.25')}]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tca_gate.signing.replay import AsyncReplayStore, ReplayStore
from tca_gate.signing.tdx import WINDOW, TDXAuthMiddleware, TDXBearerRequest

#: The price every emulated order gets, written as an exact JSON number.
PRICE = Decimal("0.25")


def emulator_app(
    secrets: Mapping[str, str],
    *,
    tokens: frozenset[str] = frozenset(),
    window: float = WINDOW,
    nonce_store: ReplayStore | AsyncReplayStore | None = None,
) -> Starlette:
    """The emulator, accepting API keys ``secrets`` (key to hex secret) and bearer ``tokens``."""
    orders: list[dict[str, object]] = []

    async def list_orders(request: Request) -> Response:
        limit = request.query_params.get("limit", "100")
        if not limit.isdigit():
            return JSONResponse({"error": "invalid-limit", "message": "limit must be digits"}, 400)
        return _orders_response(orders[: int(limit)])

    async def place_order(request: Request) -> Response:
        try:
            order = json.loads(await request.body())
        except ValueError:
            order = None
        if not isinstance(order, dict) or order.get("side") not in ("buy", "sell"):
            return JSONResponse(
                {"error": "invalid-order", "message": "side must be buy or sell"}, 422
            )
        placed = {"id": len(orders) + 1, **order}
        placed.pop("price", None)
        orders.append(placed)
        text = _order_json(placed)
        return Response(text, 201, media_type="application/json")

    async def whoami(request: Request) -> Response:
        caller = request.state.tdx
        if isinstance(caller, TDXBearerRequest):
            return JSONResponse({"scheme": "bearer"})
        return JSONResponse(
            {
                "scheme": "hmac",
                "api_key": caller.api_key,
                "nonce": caller.nonce,
                "timestamp": caller.timestamp,
            }
        )

    bearer: Callable[[str], bool] | None = tokens.__contains__ if tokens else None
    return Starlette(
        routes=[
            Route("/api/v1/orders", list_orders, methods=["GET"]),
            Route("/api/v1/orders", place_order, methods=["POST"]),
            Route("/api/v1/whoami", whoami, methods=["GET", "POST", "PUT", "DELETE"]),
        ],
        middleware=[
            Middleware(
                TDXAuthMiddleware,
                secret_for=dict(secrets),
                window=window,
                nonce_store=nonce_store,
                bearer=bearer,
            )
        ],
    )


def _order_json(order: Mapping[str, object]) -> str:
    """An order as JSON, its price written as the exact number ``PRICE`` (never a float)."""
    fields = json.dumps(order, separators=(",", ":"))
    return f'{fields[:-1]}{"," if order else ""}"price":{PRICE}}}'


def _orders_response(orders: list[dict[str, object]], status: int = 200) -> Response:
    text = "[" + ",".join(_order_json(order) for order in orders) + "]"
    return Response(text, status, media_type="application/json")
