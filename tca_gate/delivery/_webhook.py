"""``DeliveryWebhook``: a signed delivery notification, read and made the cache forget its holders.

The Token Delivery Service notifies an app's webhook of deliveries (``delivery.created``,
``delivery.fulfilled``, …), signed with Tokenly HMAC as its API calls are. The body is
the event and the delivery as the API returns it (``docs/webhooks.md``)::

    {"event": "delivery.fulfilled", "delivery": {"id": "…", "destination": "1…", …},
     "usernames": ["bob"]}

The endpoint composes the shared parts: ``TokenlyAuthMiddleware`` checks the signature
(401 with the reason otherwise), ``tca_gate.gate.read_event`` finds the holders (the
destination, an address or ``user:{username}``, plus any ``usernames``/``addresses``),
and the cache forgets them.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from tca_gate.balances import BalanceCache, WebhookPayloadError, read_event
from tca_gate.errors import InvalidArgumentError
from tca_gate.service import Fields, ShapeError
from tca_gate.signing.replay import AsyncReplayStore, ReplayStore
from tca_gate.signing.tokenly import DEFAULT_WINDOW, TokenlyAuthMiddleware

from . import _read as read
from ._models import DeliveryNotification

#: The largest body accepted, in bytes.
DEFAULT_MAX_BODY = 64 * 1024
#: What ``Retry-After`` says when the cache cannot forget now.
RETRY_AFTER = 5

#: Called with each accepted notification, after the cache forgot its holders.
NotificationHandler = Callable[[DeliveryNotification], Awaitable[None] | None]

logger = logging.getLogger("tca_gate.delivery.webhook")


def read_notification(document: object) -> DeliveryNotification:
    """The notification a webhook body carries; ``WebhookPayloadError`` naming the field.

    >>> note = read_notification({"event": "delivery.fulfilled", "delivery": {
    ...     "id": "d1", "sourceUuid": "s1", "destination": "user:bob", "token": "SOUP",
    ...     "quantity": "500000000", "deliveryDate": None, "refData": None,
    ...     "pseudo": False, "holdPromise": False, "state": 2, "complete": False,
    ...     "deliveryTx": "f00d", "createdAt": "2016-10-21T18:43:21+0000",
    ...     "updatedAt": "2016-10-21T18:43:21+0000"}})
    >>> note.event, note.delivery.quantity, note.usernames, note.addresses
    ('delivery.fulfilled', 500000000, ('bob',), ())
    """
    event = read_event(document)
    assert isinstance(document, Mapping)
    if not event.event.startswith("delivery."):
        raise WebhookPayloadError("event", f"must be delivery.<action>, not {event.event!r}")
    try:
        delivery = read.delivery(Fields(document.get("delivery"), "delivery"))
    except ShapeError as error:
        raise WebhookPayloadError(error.where or "delivery", str(error)) from None
    return DeliveryNotification(event.event, delivery, event.usernames, event.addresses)


class DeliveryWebhook:
    """An ASGI endpoint (POST only) for Token Delivery notifications.

    Each request must carry Tokenly HMAC auth made with ``api_token`` and
    ``api_secret`` (checked by ``TokenlyAuthMiddleware``: nonce within ``window``
    seconds; with a ``replay_store`` each signed request is accepted once). An accepted
    notification makes ``cache`` (when given) forget the holders it names, then is
    passed to ``on_notification`` (sync or async) when given.

    Answers: 200 ``{"event", "delivery", "forgotten"}``; 401 ``{"error": reason}``;
    400 ``{"error": "malformed-body", "field", "message"}``; 405 for other methods;
    413 for a body over ``max_body``; 503 with ``Retry-After`` when the cache fails.
    """

    def __init__(
        self,
        cache: BalanceCache | None = None,
        *,
        api_token: str,
        api_secret: str,
        on_notification: NotificationHandler | None = None,
        replay_store: ReplayStore | AsyncReplayStore | None = None,
        window: float = DEFAULT_WINDOW,
        public_url: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        for name, value in (("api_token", api_token), ("api_secret", api_secret)):
            if not isinstance(value, str) or not value:
                raise InvalidArgumentError(f"{name} must be a non-empty string")
        self.cache = cache
        self.api_token = api_token
        self.on_notification = on_notification
        self._app = TokenlyAuthMiddleware(
            self._handle,
            secret_for={api_token: api_secret},
            window=window,
            replay_store=replay_store,
            public_url=public_url,
            max_body=max_body,
        )

    def __repr__(self) -> str:
        return f"DeliveryWebhook({self.cache!r}, api_token={self.api_token!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            return
        await self._app(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = await self._answer(Request(scope, receive))
        await answer(scope, receive, send)

    async def _answer(self, request: Request) -> JSONResponse:
        if request.method != "POST":
            return _refusal(405, "method-not-allowed", "use POST", {"Allow": "POST"})
        try:
            document = json.loads(await request.body())
        except (ValueError, RecursionError):
            return _malformed(WebhookPayloadError("body", "is not JSON"))
        try:
            notification = read_notification(document)
        except WebhookPayloadError as error:
            return _malformed(error)
        forgotten = 0
        if self.cache is not None:
            try:
                forgotten = await self.cache.forget(
                    usernames=notification.usernames, addresses=notification.addresses
                )
            except Exception as error:
                logger.warning(
                    "delivery webhook %s: the cache could not forget (%s)",
                    notification.event,
                    type(error).__name__,
                )
                return _refusal(
                    503,
                    "cache-unavailable",
                    "the balance cache could not forget the holders; send the event again",
                    {"Retry-After": str(RETRY_AFTER)},
                )
        if self.on_notification is not None:
            handled = self.on_notification(notification)
            if inspect.isawaitable(handled):
                await handled
        logger.info(
            "delivery webhook %s for %s: %d answers forgotten",
            notification.event,
            notification.delivery.id,
            forgotten,
        )
        return JSONResponse(
            {
                "event": notification.event,
                "delivery": notification.delivery.id,
                "forgotten": forgotten,
            }
        )


def _malformed(error: WebhookPayloadError) -> JSONResponse:
    return JSONResponse(
        {"error": "malformed-body", "field": error.field, "message": str(error)}, 400
    )


def _refusal(
    status: int, reason: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"error": reason, "message": message}
    return JSONResponse(body, status, headers=headers)
