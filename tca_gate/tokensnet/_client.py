"""``TokensNetClient`` and ``AsyncTokensNetClient``: Tokens.net calls over httpx2, signed
per attempt with strictly increasing nonces, answers read with exact decimals."""

from __future__ import annotations

from typing import TypeVar

import httpx2

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncServiceClient,
    Endpoint,
    RetryPolicy,
    ServiceCore,
    SyncServiceClient,
)
from tca_gate.signing.tokensnet import NonceSource
from tca_gate.signing.tokensnet.auth import DEFAULT_NONCE_RETRIES, TokensNetAuth
from tca_gate.tokensnet import _calls

from ._calls import Account
from ._read import SERVICE, read_tokensnet_answer

#: Where Tokens.net's API is.
DEFAULT_BASE_URL = "https://api.tokens.net"

T = TypeVar("T")


class TokensNetAPI:
    """The calls of the Tokens.net API; on ``TokensNetClient`` each returns its value,
    on ``AsyncTokensNetClient`` an awaitable. Public calls need no credentials."""

    ticker = Endpoint(_calls.ticker)
    ticker_hour = Endpoint(_calls.ticker_hour)
    trades_minute = Endpoint(_calls.trades_minute)
    trades_hour = Endpoint(_calls.trades_hour)
    trades_day = Endpoint(_calls.trades_day)
    trading_pairs = Endpoint(_calls.trading_pairs)
    order_book = Endpoint(_calls.order_book)
    voting = Endpoint(_calls.voting)

    balance = Endpoint(_calls.balance)
    balance_all = Endpoint(_calls.balance_all)
    orders = Endpoint(_calls.orders)
    order = Endpoint(_calls.order)
    orders_for_pair = Endpoint(_calls.orders_for_pair)
    place_limit_order = Endpoint(_calls.place_limit_order)
    cancel_order = Endpoint(_calls.cancel_order)


def tokensnet_core(
    base_url: str | httpx2.URL,
    *,
    api_key: str | None,
    secret: str | None,
    nonces: NonceSource | None,
    nonce_retries: int,
    timeout: float | httpx2.Timeout | None,
    retries: RetryPolicy | int,
) -> tuple[ServiceCore, Account]:
    """The shared core and the account the calls are built from."""
    if (api_key is None) != (secret is None):
        raise InvalidArgumentError("pass both api_key and secret, or neither (public calls only)")
    auth = None
    if api_key is not None and secret is not None:
        auth = TokensNetAuth(api_key, secret, nonces=nonces, nonce_retries=nonce_retries)
    core = ServiceCore(
        SERVICE,
        base_url,
        auth=auth,
        timeout=timeout,
        retries=retries,
        reader=lambda call, response, retry: read_tokensnet_answer(call, response),
    )
    return core, Account(api_key)


class TokensNetClient(TokensNetAPI, SyncServiceClient[Account]):
    """A Tokens.net client (``with TokensNetClient(api_key, secret) as tokens:``).

    ``nonces`` is where nonces come from: by default the process's in-memory source
    for the key; a ``FileNonces`` keeps them increasing across restarts. A call refused
    for its nonce (error 111) is signed again up to ``nonce_retries`` times; reads are
    also retried by ``retries`` (a ``RetryPolicy`` or a number), each attempt with a
    fresh nonce. ``timeout`` and ``transport`` as for ``httpx2.Client``.
    """

    # Twin of AsyncTokensNetClient.__init__ (but for the transport type), as httpx2's shells are.
    def __init__(
        self,
        api_key: str | None = None,
        secret: str | None = None,
        *,
        base_url: str | httpx2.URL = DEFAULT_BASE_URL,
        nonces: NonceSource | None = None,
        nonce_retries: int = DEFAULT_NONCE_RETRIES,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        core, account = tokensnet_core(
            base_url,
            api_key=api_key,
            secret=secret,
            nonces=nonces,
            nonce_retries=nonce_retries,
            timeout=timeout,
            retries=retries,
        )
        super().__init__(core, account, transport=transport)


class AsyncTokensNetClient(TokensNetAPI, AsyncServiceClient[Account]):
    """The async ``TokensNetClient``: the same methods, awaited; ``async with`` or ``aclose()``."""

    # Twin of TokensNetClient.__init__ (but for the transport type), as httpx2's shells are.
    def __init__(
        self,
        api_key: str | None = None,
        secret: str | None = None,
        *,
        base_url: str | httpx2.URL = DEFAULT_BASE_URL,
        nonces: NonceSource | None = None,
        nonce_retries: int = DEFAULT_NONCE_RETRIES,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        core, account = tokensnet_core(
            base_url,
            api_key=api_key,
            secret=secret,
            nonces=nonces,
            nonce_retries=nonce_retries,
            timeout=timeout,
            retries=retries,
        )
        super().__init__(core, account, transport=transport)
