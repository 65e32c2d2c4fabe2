"""``TokensoftClient`` and ``AsyncTokensoftClient``: GraphQL over POST, signed per attempt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

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
)
from tca_gate.signing.tokensoft import SERVICE, graphql_body, is_mutation
from tca_gate.signing.tokensoft.auth import DEFAULT_TIME_CACHE, TokensoftAuth

from . import _calls
from ._read import read_answer, server_time

T = TypeVar("T")

_JSON = {"Content-Type": "application/json"}


class TokensoftCore(ServiceCore):
    """The core for one GraphQL endpoint: every call is a POST of its exact JSON body."""

    def build(self, http: httpx2.Client | httpx2.AsyncClient, call: Call[Any]) -> httpx2.Request:
        payload = call.json or {}
        variables = payload.get("variables")
        operation_name = payload.get("operationName")
        body = graphql_body(
            str(payload.get("query", "")),
            variables if isinstance(variables, Mapping) else None,
            operation_name if isinstance(operation_name, str) else None,
        )
        return http.build_request("POST", self.base_url, content=body, headers=_JSON)

    def read(self, call: Call[T], response: httpx2.Response, *, retry: bool) -> T:
        """GraphQL's answer: ``data``, or ``errors`` as ``TokensoftGraphQLError``."""
        return read_answer(call, response)

    def retried(self, call: Call[Any]) -> bool:
        """Queries are retried; anything that may be a mutation is not (it might run twice)."""
        document = str((call.json or {}).get("query", ""))
        return self.retries.retries > 0 and not is_mutation(document)


class TokensoftAPI:
    """The calls; on ``TokensoftClient`` each returns its value, on ``AsyncTokensoftClient``
    an awaitable."""

    query = Endpoint(_calls.query)
    current_user = Endpoint(_calls.current_user)
    whitelist_user = Endpoint(_calls.whitelist_user)


def tokensoft_core(
    url: str | httpx2.URL,
    access_key: str,
    secret: str,
    *,
    time_cache: float,
    timeout: float | httpx2.Timeout | None,
    retries: RetryPolicy | int,
) -> TokensoftCore:
    """The shared core: calls signed with the API key and secret."""
    auth = TokensoftAuth(access_key, secret, time_cache=time_cache, read_time=server_time)
    return TokensoftCore(SERVICE, url, auth=auth, timeout=timeout, retries=retries)


class TokensoftClient(TokensoftAPI, SyncServiceClient[httpx2.URL]):
    """A Tokensoft client (``with TokensoftClient(url, access_key, secret) as tokensoft:``).

    ``url`` is the GraphQL endpoint your Tokensoft contact gives you (the sandbox's for
    testing, then production's: the guide names no fixed URL); every call is a POST to
    it. The timestamp is the server's ``{ time }``, kept for ``time_cache`` seconds (see
    ``TokensoftAuth``). ``timeout``, ``retries`` and ``transport`` as for the other clients.
    """

    # Twin of AsyncTokensoftClient.__init__ (but for the transport type), as httpx2's shells are.
    def __init__(
        self,
        url: str | httpx2.URL,
        access_key: str,
        secret: str,
        *,
        time_cache: float = DEFAULT_TIME_CACHE,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        core = tokensoft_core(
            url, access_key, secret, time_cache=time_cache, timeout=timeout, retries=retries
        )
        super().__init__(core, core.base_url, transport=transport)


class AsyncTokensoftClient(TokensoftAPI, AsyncServiceClient[httpx2.URL]):
    """The async ``TokensoftClient``: the same methods, awaited; ``async with`` or ``aclose()``."""

    # Twin of TokensoftClient.__init__ (but for the transport type), as httpx2's shells are.
    def __init__(
        self,
        url: str | httpx2.URL,
        access_key: str,
        secret: str,
        *,
        time_cache: float = DEFAULT_TIME_CACHE,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        core = tokensoft_core(
            url, access_key, secret, time_cache=time_cache, timeout=timeout, retries=retries
        )
        super().__init__(core, core.base_url, transport=transport)
