"""Live address balances: the sandbox's ``balances`` table kept current from a Counterparty
node (``create_app(counterparty=url)``, ``tca-gate sandbox --counterparty URL``).

Before an API call the holdings of every address the sandbox knows (users' addresses,
provisional sources, addresses holding something, and the address a ``tca/check-address``
names) are read through ``CounterpartyBalances`` behind a bounded ``CachedBalances`` and
replace the table, all at once; promises, users and rules work on them unchanged, so
the sandbox is a self-hosted Tokenpass on live balances. A node that cannot be read
makes the call answer 503, never a guess. Balances set through ``/sandbox/`` last until
the next refresh.
"""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import httpx2
from starlette.types import ASGIApp, Receive, Scope, Send

from tca_gate.balances import (
    BalanceUnavailableError,
    CachedBalances,
    CounterpartyBalances,
    Holder,
)

from ._api_error import ApiError
from ._state import SandboxState

#: Seconds an address's live balances are reused before the node is asked again.
DEFAULT_LIVE_TTL = 10.0
#: Addresses whose answers the cache keeps.
_CACHED_ADDRESSES = 10_000
_API = "/api/"
_CHECK_ADDRESS = "/api/v1/tca/check-address/"

_KNOWN_ADDRESSES = """
SELECT address FROM addresses
UNION SELECT address FROM provisional_sources
UNION SELECT address FROM balances
"""


def live_source(node_url: str) -> CounterpartyBalances:
    """The node's balances, over connections not kept alive: none is left open when the
    sandbox stops. A URL that is no http(s) URL is refused here, before serving."""
    transport = httpx2.AsyncHTTPTransport(limits=httpx2.Limits(max_keepalive_connections=0))
    return CounterpartyBalances(node_url, transport=transport)


class LiveBalances:
    """ASGI middleware refreshing the sandbox's balances from the node before API calls."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        state: SandboxState,
        source: CounterpartyBalances,
        ttl: float = DEFAULT_LIVE_TTL,
    ) -> None:
        self.app = app
        self.state = state
        self.cache = CachedBalances(source, ttl=ttl, maxsize=_CACHED_ADDRESSES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(_API):
            asked = unquote(path[len(_CHECK_ADDRESS) :]) if path.startswith(_CHECK_ADDRESS) else ""
            try:
                await self.refresh(asked)
            except BalanceUnavailableError as error:
                refusal = ApiError(503, f"the live balances cannot be read now: {error}")
                await refusal.response(with_result=False)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def refresh(self, also: str = "") -> None:
        """Replace the balances table with what the node says every known address holds."""
        with self.state.store.transaction() as db:
            known = {str(row[0]) for row in db.execute(_KNOWN_ADDRESSES)}
        if also.strip():
            known.add(also)
        addresses = sorted(known)
        answers = await asyncio.gather(
            *(self.cache.balances(Holder.addresses([address])) for address in addresses)
        )
        with self.state.store.transaction() as db:
            db.execute("DELETE FROM balances")
            db.executemany(
                "INSERT INTO balances (address, asset, sat) VALUES (?, ?, ?)",
                [
                    (address, asset, sat)
                    for address, held in zip(addresses, answers, strict=True)
                    for asset, sat in held.items()
                ],
            )
