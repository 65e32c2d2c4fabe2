"""``CounterpartyClient`` and ``AsyncCounterpartyClient``: Counterparty Core API v2 reads
over httpx2, retried by the service core; the async one also follows pages to the end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx2

from tca_gate.service import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncServiceClient,
    Call,
    Endpoint,
    RetryPolicy,
    ServiceCore,
    SyncServiceClient,
    malformed,
    path,
)

from . import _calls
from ._calls import BalanceType
from ._models import AssetHoldings, Balance, Page
from ._read import SERVICE, refuse_if_behind

#: The public Counterparty Core API (mainnet).
DEFAULT_BASE_URL = "https://api.counterparty.io:4000"

T = TypeVar("T")


class CounterpartyCore(ServiceCore):
    """The service core, refusing data answers from a node whose ledger is not current."""

    def read(self, call: Call[T], response: httpx2.Response, *, retry: bool) -> T:
        """The answer's value, or its ``ServiceError`` (a node catching up included)."""
        refuse_if_behind(call.path, response)
        return super().read(call, response, retry=retry)


class CounterpartyAPI:
    """The calls; on ``CounterpartyClient`` each returns its value, on
    ``AsyncCounterpartyClient`` an awaitable. Lists come a page at a time."""

    status = Endpoint(_calls.status)
    addresses_balances = Endpoint(_calls.addresses_balances)
    address_balances = Endpoint(_calls.address_balances)
    asset = Endpoint(_calls.asset)
    asset_balances = Endpoint(_calls.asset_balances)


def _core(
    base_url: str | httpx2.URL, timeout: float | httpx2.Timeout | None, retries: RetryPolicy | int
) -> CounterpartyCore:
    return CounterpartyCore(SERVICE, base_url, timeout=timeout, retries=retries)


class CounterpartyClient(CounterpartyAPI, SyncServiceClient[None]):
    """A Counterparty Core API v2 client (``with CounterpartyClient(url) as node:``);
    ``timeout``, ``retries`` and ``transport`` as for the other clients."""

    def __init__(
        self,
        base_url: str | httpx2.URL = DEFAULT_BASE_URL,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        super().__init__(_core(base_url, timeout, retries), None, transport=transport)


class AsyncCounterpartyClient(CounterpartyAPI, AsyncServiceClient[None]):
    """The async ``CounterpartyClient``, with ``every_*`` calls that follow the pages."""

    def __init__(
        self,
        base_url: str | httpx2.URL = DEFAULT_BASE_URL,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(_core(base_url, timeout, retries), None, transport=transport)

    async def every_addresses_balance(
        self,
        of: list[str] | tuple[str, ...],
        *,
        type: BalanceType = "all",
        page_size: int = 100,
        verbose: bool = False,
    ) -> list[AssetHoldings]:
        """Every asset the addresses ``of`` hold, page after page to the last."""

        def fetch(cursor: str | None) -> Awaitable[Page[AssetHoldings]]:
            return self.addresses_balances(
                of, type=type, cursor=cursor, limit=page_size, verbose=verbose
            )

        return await self._every(fetch, "/v2/addresses/balances")

    async def every_asset_balance(
        self,
        name: str,
        *,
        type: BalanceType = "all",
        page_size: int = 100,
        verbose: bool = False,
    ) -> list[Balance]:
        """Every holder of the asset ``name``, page after page to the last."""

        def fetch(cursor: str | None) -> Awaitable[Page[Balance]]:
            return self.asset_balances(
                name, type=type, cursor=cursor, limit=page_size, verbose=verbose
            )

        return await self._every(fetch, path("/v2/assets/{asset}/balances", asset=name))

    async def _every(
        self, fetch: Callable[[str | None], Awaitable[Page[T]]], where: str
    ) -> list[T]:
        """The items of every page; a cursor seen before (the list would never end) or a
        list longer than its ``result_count`` is a ``MalformedResponseError``."""
        items: list[T] = []
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            page = await fetch(cursor)
            items.extend(page.items)
            if page.next_cursor is None:
                return items
            if page.next_cursor in seen or len(items) > page.result_count:
                raise malformed(SERVICE, self._request(where), "the pages do not end")
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    def _request(self, where: str) -> httpx2.Request:
        return httpx2.Request("GET", self.base_url.join(where))
