"""An emulator of Tokensoft's GraphQL endpoint for tests and examples: a Starlette app
whose every request (but ``{ time }``) is checked by ``TokensoftAuthMiddleware``.

Documents are parsed, validated and run by graphql-core against ``SCHEMA``: ``{ time }``,
``currentUser``, the ``currentPrice`` / ``priceHistory`` query of
``tca_gate.tokensoft.examples``, and the ``whitelistUser`` mutation in the SDK's forms:
``whitelistUser(email, address, kyc)`` and the older ``whitelistUser(email, address)``
(literal arguments, as the SDK sends them, or variables), and ``whitelistUser(accountId,
tokenContractId, callback)``. Syntax and validation errors, unknown contracts and
assets answer GraphQL ``errors`` (with their paths). Every whitelisting is kept in
``app.state.whitelisted``.

>>> import asyncio, httpx2
>>> from tca_gate.tokensoft import AsyncTokensoftClient, examples
>>> app = emulator_app({"demo-key": "demo-secret"})
>>> async def main():
...     transport = httpx2.ASGITransport(app=app)
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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

try:
    from graphql import GraphQLError, build_schema, graphql_sync
except ImportError as error:
    raise ImportError(
        "the Tokensoft emulator needs graphql-core: pip install 'tca-gate[tokensoft]'"
    ) from error
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tca_gate.signing.tokensoft import (
    DEFAULT_WINDOW,
    TokensoftAuthMiddleware,
    TokensoftSignedRequest,
    is_time_query,
    server_time_ms,
)

#: The contracts the emulator knows (ERC-1404 assets), by id.
CONTRACTS = frozenset({"arca-1404"})

#: Prices per symbol: current, then history (day, price); more digits than a float holds.
PRICES: Mapping[str, tuple[Decimal, tuple[tuple[str, Decimal], ...]]] = {
    "ARCA": (
        Decimal("1.0500000000000000444"),
        (("2024-01-01", Decimal("1.01")), ("2024-01-02", Decimal("1.0250"))),
    ),
}

#: What the emulator answers. ``whitelistUser`` takes the SDK's forms, so no argument is
#: required by the schema; the resolver refuses a call that is neither.
SCHEMA = build_schema(
    """
    scalar Decimal
    scalar Millis

    type User { id: String! email: String! }
    type Price { symbol: String price: Decimal! time: String! }

    input KycAddressInput {
      streetAddress: String! city: String! state: String! zip: String! country: String!
    }
    input KYCInfoInput { firstName: String! lastName: String! address: KycAddressInput! }

    type Query {
      time: Millis!
      currentUser: User
      currentPrice(symbol: String!): Price
      priceHistory(symbol: String!, from: String!, to: String!): [Price!]
    }

    type Mutation {
      whitelistUser(
        email: String, address: String, kyc: KYCInfoInput,
        accountId: String, tokenContractId: String, callback: String
      ): String
    }
    """
)

_ETHEREUM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass(frozen=True, slots=True)
class Whitelisted:
    """One whitelisting the emulator accepted: by which API key, for whom, with what KYC
    (as sent: ``firstName``, ``address.streetAddress``, ...; ``None`` without it)."""

    access_key: str
    email: str
    address: str
    kyc: dict[str, Any] | None


def emulator_app(
    secrets: Mapping[str, str],
    *,
    window: float = DEFAULT_WINDOW,
    clock: Callable[[], int] = server_time_ms,
) -> Starlette:
    """The emulator, accepting the API keys in ``secrets`` (key to secret)."""
    whitelisted: list[Whitelisted] = []

    async def graphql(request: Request) -> Response:
        body = await request.body()
        if is_time_query(body):
            return _answer({"data": {"time": clock()}})
        try:
            parsed = json.loads(body, parse_float=Decimal)
            document, variables = parsed["query"], parsed.get("variables") or {}
            operation = parsed.get("operationName")
            if not isinstance(document, str) or not isinstance(variables, dict):
                raise TypeError(document)
        except (ValueError, KeyError, TypeError):
            return _answer({"errors": [{"message": "the body must be a GraphQL request"}]}, 400)
        signed: TokensoftSignedRequest = request.state.tokensoft
        result = graphql_sync(
            SCHEMA,
            document,
            root_value=_resolvers(signed, clock, whitelisted),
            variable_values=variables,
            operation_name=operation if isinstance(operation, str) else None,
        )
        answer: dict[str, Any] = {}
        if result.data is not None:
            answer["data"] = result.data
        if result.errors:
            answer["errors"] = [error.formatted for error in result.errors]
        return _answer(answer)

    middleware = [
        Middleware(TokensoftAuthMiddleware, secret_for=secrets, window=window, clock=clock)
    ]
    app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], middleware=middleware)
    app.state.whitelisted = whitelisted
    return app


def _resolvers(
    signed: TokensoftSignedRequest, clock: Callable[[], int], whitelisted: list[Whitelisted]
) -> dict[str, Callable[..., object]]:
    """Each root field's resolver, for one signed request."""

    def current_user(info: object) -> dict[str, str]:
        key = signed.access_key
        return {"id": f"user-{key}", "email": f"{key}@example.com"}

    def whitelist_user(info: object, **given: Any) -> str:
        if "accountId" in given or "tokenContractId" in given:
            if {"email", "address", "kyc"} & set(given):
                raise _not_valid("pass email and address, or accountId and tokenContractId")
            return _whitelist_account(given.get("accountId"), given.get("tokenContractId"))
        email, address = given.get("email"), given.get("address")
        if not isinstance(email, str) or "@" not in email:
            raise _not_valid(f"email {email!r} is not an email address")
        if not isinstance(address, str) or not _ETHEREUM_ADDRESS.fullmatch(address):
            raise _not_valid(f"address {address!r} is not an Ethereum address")
        whitelisted.append(Whitelisted(signed.access_key, email, address, given.get("kyc")))
        return "0x" + hashlib.sha256(f"{email}:{address}".encode()).hexdigest()

    def current_price(info: object, symbol: str) -> dict[str, object]:
        current, _ = _prices(symbol)
        return {"symbol": symbol, "price": current, "time": "2024-01-02T00:00:00Z"}

    def price_history(info: object, **given: str) -> list[dict[str, object]]:
        _, history = _prices(given["symbol"])
        low, high = given["from"], given["to"]
        return [{"price": price, "time": day} for day, price in history if low <= day <= high]

    return {
        "time": lambda info: clock(),
        "currentUser": current_user,
        "whitelistUser": whitelist_user,
        "currentPrice": current_price,
        "priceHistory": price_history,
    }


def _whitelist_account(account: object, contract: object) -> str:
    if contract not in CONTRACTS:
        raise GraphQLError(
            f"token contract {contract!r} not found", extensions={"code": "NOT_FOUND"}
        )
    return "0x" + hashlib.sha256(f"{contract}:{account}".encode()).hexdigest()


def _prices(symbol: str) -> tuple[Decimal, tuple[tuple[str, Decimal], ...]]:
    if symbol not in PRICES:
        raise GraphQLError(f"no prices for {symbol!r}", extensions={"code": "NOT_FOUND"})
    return PRICES[symbol]


def _not_valid(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


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
