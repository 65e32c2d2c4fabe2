"""``TokenpassClient`` and ``AsyncTokenpassClient``: Tokenpass calls over httpx2, signed and
retried."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx2

from tca_gate.service import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncServiceClient,
    Call,
    RetryPolicy,
    ServiceCore,
    SyncServiceClient,
    flag,
)
from tca_gate.signing.tokenly.auth import TokenlyAuth

from ._api import TokenpassAPI
from ._app import TokenpassApp
from ._user_token import (
    FALLBACK_EXTENSION,
    UserCall,
    UserTokenAuth,
    hide_token_parameters,
    logger,
    with_parameter,
)

SERVICE = "Tokenpass"


class TokenpassCore(ServiceCore):
    """The shared core: app calls signed with the app's client id and secret, and each
    user call's token in ``Authorization: Bearer`` or, with ``bearer`` false, a parameter."""

    def __init__(
        self,
        base_url: str | httpx2.URL,
        app: TokenpassApp,
        timeout: float | httpx2.Timeout | None,
        retries: RetryPolicy | int,
        bearer: bool,
    ) -> None:
        self.bearer = flag("bearer", bearer)
        signer = TokenlyAuth(app.client_id, app.client_secret)
        super().__init__(SERVICE, base_url, auth=signer, timeout=timeout, retries=retries)
        self._signed_user = UserTokenAuth(signer, self._parameter_worked)
        self._unsigned_user = UserTokenAuth(None, self._parameter_worked)
        hide_token_parameters()

    def build(self, http: httpx2.Client | httpx2.AsyncClient, call: Call[Any]) -> httpx2.Request:
        """The request for ``call``; a user call's token in the header (with a builder of
        the parameter form, for the fallback) or as a parameter."""
        if not isinstance(call, UserCall):
            return super().build(http, call)
        if not self.bearer:
            return self._parameter_form(http, call)
        request = super().build(http, call)
        request.headers["Authorization"] = f"Bearer {call.token}"
        request.extensions[FALLBACK_EXTENSION] = partial(self._parameter_form, http, call)
        return request

    def _parameter_form(
        self, http: httpx2.Client | httpx2.AsyncClient, call: UserCall[Any]
    ) -> httpx2.Request:
        return super().build(http, with_parameter(call))

    def auth_for(self, call: Call[Any]) -> httpx2.Auth | None:
        """A user call's auth places its token; other calls are signed or not."""
        if isinstance(call, UserCall):
            return self._signed_user if call.signed else self._unsigned_user
        return super().auth_for(call)

    def _parameter_worked(self) -> None:
        if self.bearer:
            self.bearer = False
            logger.info(
                "%s at %s read no token from the Authorization header; "
                "sending the token as a parameter from now on",
                SERVICE,
                self.base_url,
            )


class TokenpassClient(TokenpassAPI, SyncServiceClient[TokenpassApp]):
    """A Tokenpass client (``with TokenpassClient(url, client_id, client_secret) as tokenpass:``).

    ``timeout`` is seconds or an ``httpx2.Timeout`` (connect 5 s, the rest 15 s by
    default); ``retries`` a ``RetryPolicy`` or the number of retries for GET and
    DELETE; ``transport`` an httpx2 transport (for tests or proxies).

    A user's OAuth token goes in ``Authorization: Bearer``, so no URL carries it;
    ``bearer=False`` sends the ``oauth_token`` parameter instead, as the official PHP
    client does. A server that answers a header-carrying call that the token is missing
    gets the call again with the parameter, and every later call with it (logged once at
    INFO on ``tca_gate.tokenpass``). Wherever a URL carries the token, httpx2's ``HTTP
    Request`` log line shows ``oauth_token=[hidden]`` (a filter on the ``httpx2`` logger,
    added when a client is made).

    Each retry is logged by stamina as a ``stamina.retry_scheduled`` WARNING on the
    ``stamina`` logger (no URL, parameters or tokens); to quiet it, raise that logger's
    level (``logging.getLogger("stamina").setLevel(logging.ERROR)``) or replace stamina's
    hooks once at start-up (``stamina.instrumentation.set_on_retry_hooks([])``).
    """

    # Twin of AsyncTokenpassClient.__init__ (but for the transport type), as httpx2's shells are.
    def __init__(
        self,
        base_url: str | httpx2.URL,
        client_id: str,
        client_secret: str,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.BaseTransport | None = None,
        bearer: bool = True,
    ) -> None:
        app = TokenpassApp(client_id, client_secret)
        core = TokenpassCore(base_url, app, timeout, retries, bearer)
        super().__init__(core, app, transport=transport)


class AsyncTokenpassClient(TokenpassAPI, AsyncServiceClient[TokenpassApp]):
    """The async ``TokenpassClient``: the same methods, awaited; ``async with`` or ``aclose()``."""

    # Twin of TokenpassClient.__init__ (but for the transport type), as httpx2's shells are.
    def __init__(
        self,
        base_url: str | httpx2.URL,
        client_id: str,
        client_secret: str,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.AsyncBaseTransport | None = None,
        bearer: bool = True,
    ) -> None:
        app = TokenpassApp(client_id, client_secret)
        core = TokenpassCore(base_url, app, timeout, retries, bearer)
        super().__init__(core, app, transport=transport)
