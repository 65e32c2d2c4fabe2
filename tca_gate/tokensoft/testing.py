"""An emulator of Tokensoft's GraphQL endpoint for tests and examples: a Starlette app
whose every request (but ``{ time }``) is checked by ``TokensoftAuthMiddleware``.

It answers ``{ time }``, ``currentUser``, the ``whitelistUser`` mutation and the
``currentPrice`` / ``priceHistory`` query of ``tca_gate.tokensoft.examples`` at
``/graphql``, with GraphQL ``errors`` (and their paths) for unknown contracts, assets
and fields.

>>> import asyncio, httpx
>>> from tca_gate.tokensoft import AsyncTokensoftClient, examples
>>> app = emulator_app({"demo-key": "demo-secret"})
>>> async def main():
...     transport = httpx.ASGITransport(app=app)
...     url = "http://tokensoft.test/graphql"
...     async with AsyncTokensoftClient(url, "demo-key", "demo-secret", transport=transport) as ts:
...         prices = await ts.query(
...             examples.ASSET_PRICES, {"symbol": "ARCA", "from": "2024-01-01", "to": "2024-01-02"}
...         )
...         return prices["currentPrice"]["price"], await ts.current_user()
>>> asyncio.run(main())
(Decimal('1.0500000000000000444'), CurrentUser(id='user-demo-key', email='demo-key@example.com'))
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._middleware import TokensoftAuthMiddleware
from ._verify import DEFAULT_WINDOW, TokensoftSignedRequest, server_time_ms
from ._wire import is_time_query

#: The contracts the emulator knows (ERC-1404 assets), by id.
CONTRACTS = frozenset({"arca-1404"})

#: Prices per symbol: current, then history (day, price); more digits than a float holds.
PRICES: Mapping[str, tuple[Decimal, tuple[tuple[str, Decimal], ...]]] = {
    "ARCA": (
        Decimal("1.0500000000000000444"),
        (("2024-01-01", Decimal("1.01")), ("2024-01-02", Decimal("1.0250"))),
    ),
}

_FIELD = re.compile(r"\b(currentUser|whitelistUser|currentPrice|priceHistory)\b")


def emulator_app(
    secrets: Mapping[str, str],
    *,
    window: float = DEFAULT_WINDOW,
    clock: Callable[[], int] = server_time_ms,
) -> Starlette:
    """The emulator, accepting the API keys in ``secrets`` (key to secret)."""

    async def graphql(request: Request) -> Response:
        body = await request.body()
        if is_time_query(body):
            return _answer({"data": {"time": clock()}})
        try:
            parsed = json.loads(body, parse_float=Decimal)
            document, variables = parsed["query"], parsed.get("variables") or {}
            if not isinstance(document, str) or not isinstance(variables, dict):
                raise TypeError(document)
        except (ValueError, KeyError, TypeError):
            return _answer({"errors": [{"message": "the body must be a GraphQL request"}]}, 400)
        signed: TokensoftSignedRequest = request.state.tokensoft
        fields = _FIELD.findall(document)
        if not fields:
            return _answer({"errors": [{"message": "no field this emulator knows was asked"}]})
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for field in dict.fromkeys(fields):
            value, error = _resolve(field, variables, signed)
            data[field] = value
            if error:
                errors.append(
                    {"message": error, "path": [field], "extensions": {"code": "NOT_FOUND"}}
                )
        return _answer({"data": data, "errors": errors} if errors else {"data": data})

    middleware = [
        Middleware(TokensoftAuthMiddleware, secret_for=secrets, window=window, clock=clock)
    ]
    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], middleware=middleware)


def _resolve(
    field: str, variables: Mapping[str, Any], signed: TokensoftSignedRequest
) -> tuple[object, str | None]:
    """A field's value, or ``None`` and the error message for it."""
    if field == "currentUser":
        key = signed.access_key
        return {"id": f"user-{key}", "email": f"{key}@example.com"}, None
    if field == "whitelistUser":
        contract, account = variables.get("tokenContractId"), variables.get("accountId")
        if contract not in CONTRACTS:
            return None, f"token contract {contract!r} not found"
        reference = hashlib.sha256(f"{contract}:{account}".encode()).hexdigest()
        return f"0x{reference}", None
    symbol = variables.get("symbol")
    if not isinstance(symbol, str) or symbol not in PRICES:
        return None, f"no prices for {symbol!r}"
    current, history = PRICES[symbol]
    if field == "currentPrice":
        return {"symbol": symbol, "price": current, "time": "2024-01-02T00:00:00Z"}, None
    low, high = str(variables.get("from", "")), str(variables.get("to", ""))
    return [{"price": price, "time": day} for day, price in history if low <= day <= high], None


def _answer(content: object, status: int = 200) -> Response:
    return Response(_dumps(content), status, media_type="application/json")


def _dumps(value: object) -> str:
    """JSON with each ``Decimal`` written as the exact number it is."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(key)}:{_dumps(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dumps(item) for item in value) + "]"
    return json.dumps(value)
