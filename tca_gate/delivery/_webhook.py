"""``DeliveryWebhook``: a signed delivery notification, read and made the cache forget its holders.

The Token Delivery Service notifies an app's webhook of deliveries (``delivery.created``,
``delivery.fulfilled``, …), signed with Tokenly HMAC as its API calls are. The body is
the event and the delivery as the API returns it (``docs/webhooks.md``)::

    {"event": "delivery.fulfilled", "delivery": {"id": "…", "destination": "1…", …},
     "usernames": ["bob"]}

The endpoint is a ``SignedWebhook``, as the balance webhook is (the verifying flow checks
the signature: 401 with the reason otherwise); ``tca_gate.balances.read_event`` finds the
holders (the destination, an address or ``user:{username}``, plus any
``usernames``/``addresses``), and the cache forgets them.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from tca_gate.balances import BalanceCache, SignedWebhook, WebhookPayloadError, read_event
from tca_gate.service import Fields, ShapeError
from tca_gate.signing.replay import AsyncReplayStore, ReplayStore
from tca_gate.signing.tokenly import DEFAULT_WINDOW

from . import _read as read
from ._models import DeliveryNotification

#: The largest body accepted, in bytes.
DEFAULT_MAX_BODY = 64 * 1024

#: Called with each accepted notification, after the cache forgot its holders.
NotificationHandler = Callable[[DeliveryNotification], Awaitable[None] | None]


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


class DeliveryWebhook(SignedWebhook[DeliveryNotification]):
    """An ASGI endpoint (POST only) for Token Delivery notifications.

    Each request must carry Tokenly HMAC auth made with ``api_token`` and
    ``api_secret`` (nonce within ``window`` seconds of ``clock``; with a ``replay_store``
    each signed request is accepted once). An accepted notification makes ``cache`` (when
    given) forget the holders it names, then is passed to ``on_notification`` (sync or
    async) when given. When the cache or ``on_notification`` fails, the replay claim is
    given back, so the service can send the same signed notification again.

    Answers: 200 ``{"event", "delivery", "forgotten"}``, and refuses as every
    ``SignedWebhook`` does: 401 ``{"error": reason}``; 400 ``{"error": "malformed-body",
    "field", "message"}``; 405 for other methods; 413 for a body over ``max_body``; 503
    with ``Retry-After`` when the cache (or the replay store) fails.
    """

    logger = logging.getLogger("tca_gate.delivery.webhook")

    def __init__(
        self,
        cache: BalanceCache | None = None,
        *,
        api_token: str,
        api_secret: str,
        on_notification: NotificationHandler | None = None,
        replay_store: ReplayStore | AsyncReplayStore | None = None,
        clock: Callable[[], float] = time.time,
        window: float = DEFAULT_WINDOW,
        public_url: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        super().__init__(
            cache,
            api_token=api_token,
            api_secret=api_secret,
            replay_store=replay_store,
            clock=clock,
            window=window,
            public_url=public_url,
            max_body=max_body,
        )
        self.on_notification = on_notification

    def read(self, document: object) -> DeliveryNotification:
        return read_notification(document)

    async def accepted(self, event: DeliveryNotification, forgotten: int) -> Mapping[str, object]:
        if self.on_notification is not None:
            handled = self.on_notification(event)
            if inspect.isawaitable(handled):
                await handled
        self.logger.info(
            "delivery webhook %s for %s: %d answers forgotten",
            event.event,
            event.delivery.id,
            forgotten,
        )
        return {"event": event.event, "delivery": event.delivery.id, "forgotten": forgotten}
