"""``TokenpassClient`` and ``AsyncTokenpassClient``: Tokenpass calls over httpx, signed, retried."""

from __future__ import annotations

import httpx

from tca_gate._service import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncServiceClient,
    RetryPolicy,
    ServiceCore,
    SyncServiceClient,
)
from tca_gate._tokenly_auth import TokenlyAuth

from ._api import TokenpassAPI
from ._app import TokenpassApp

SERVICE = "Tokenpass"


def tokenpass_core(
    base_url: str | httpx.URL,
    app: TokenpassApp,
    timeout: float | httpx.Timeout | None,
    retries: RetryPolicy | int,
) -> ServiceCore:
    """The shared core: app calls signed with the app's client id and secret."""
    auth = TokenlyAuth(app.client_id, app.client_secret)
    return ServiceCore(SERVICE, base_url, auth=auth, timeout=timeout, retries=retries)


class TokenpassClient(TokenpassAPI, SyncServiceClient[TokenpassApp]):
    """A Tokenpass client (``with TokenpassClient(url, client_id, client_secret) as tokenpass:``).

    ``timeout`` is seconds or an ``httpx.Timeout`` (connect 5 s, the rest 15 s by
    default); ``retries`` a ``RetryPolicy`` or the number of retries for GET and
    DELETE; ``transport`` an httpx transport (for tests or proxies).

    Each retry is logged by stamina as a ``stamina.retry_scheduled`` WARNING on the
    ``stamina`` logger (no URL, parameters or tokens); to quiet it, raise that logger's
    level (``logging.getLogger("stamina").setLevel(logging.ERROR)``) or replace stamina's
    hooks once at start-up (``stamina.instrumentation.set_on_retry_hooks([])``).
    """

    def __init__(
        self,
        base_url: str | httpx.URL,
        client_id: str,
        client_secret: str,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        app = TokenpassApp(client_id, client_secret)
        core = tokenpass_core(base_url, app, timeout, retries)
        super().__init__(core, app, transport=transport)


class AsyncTokenpassClient(TokenpassAPI, AsyncServiceClient[TokenpassApp]):
    """The async ``TokenpassClient``: the same methods, awaited; ``async with`` or ``aclose()``."""

    def __init__(
        self,
        base_url: str | httpx.URL,
        client_id: str,
        client_secret: str,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        app = TokenpassApp(client_id, client_secret)
        core = tokenpass_core(base_url, app, timeout, retries)
        super().__init__(core, app, transport=transport)
