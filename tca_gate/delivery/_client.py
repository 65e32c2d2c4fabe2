"""``DeliveryClient`` and ``AsyncDeliveryClient``: Token Delivery calls, signed, retried."""

from __future__ import annotations

import httpx2

from tca_gate.service import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    AsyncServiceClient,
    RetryPolicy,
    ServiceCore,
    SyncServiceClient,
)
from tca_gate.signing.tokenly.auth import TokenlyAuth

from ._account import DeliveryAccount
from ._api import DeliveryAPI
from ._errors import DELIVERY_ERRORS

SERVICE = "Token Delivery"


def delivery_core(
    base_url: str | httpx2.URL,
    api_token: str,
    api_secret: str,
    timeout: float | httpx2.Timeout | None,
    retries: RetryPolicy | int,
) -> ServiceCore:
    """The shared core: every call signed with Tokenly HMAC, afresh for each attempt."""
    auth = TokenlyAuth(api_token, api_secret)
    return ServiceCore(
        SERVICE, base_url, auth=auth, timeout=timeout, retries=retries, errors=DELIVERY_ERRORS
    )


class DeliveryClient(DeliveryAPI, SyncServiceClient[DeliveryAccount]):
    """A Token Delivery Service client (``with DeliveryClient(url, token, secret) as tds:``).

    ``base_url`` is the service's (``https://deliver.tokenly.com`` was the hosted one);
    ``timeout`` seconds or an ``httpx2.Timeout``; ``retries`` a ``RetryPolicy`` or the
    number of retries of GET and DELETE (POST and PATCH are never repeated);
    ``transport`` an httpx2 transport. Errors are the shared ``ServiceError`` tree, with
    ``ForbiddenError`` (403: wrong or missing credentials), ``MethodNotAllowedError``
    (405), ``UnprocessableEntityError`` (422) and ``MaintenanceError`` (503) for the
    service's own codes.
    """

    # Twin of AsyncDeliveryClient.__init__ (but for the transport type), as httpx2's shells are.
    def __init__(
        self,
        base_url: str | httpx2.URL,
        api_token: str,
        api_secret: str,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        account = DeliveryAccount(api_token)
        core = delivery_core(base_url, api_token, api_secret, timeout, retries)
        super().__init__(core, account, transport=transport)


class AsyncDeliveryClient(DeliveryAPI, AsyncServiceClient[DeliveryAccount]):
    """The async ``DeliveryClient``: the same methods, awaited; ``async with`` or ``aclose()``."""

    # Twin of DeliveryClient.__init__ (but for the transport type), as httpx2's shells are.
    def __init__(
        self,
        base_url: str | httpx2.URL,
        api_token: str,
        api_secret: str,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int = DEFAULT_RETRIES,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        account = DeliveryAccount(api_token)
        core = delivery_core(base_url, api_token, api_secret, timeout, retries)
        super().__init__(core, account, transport=transport)
