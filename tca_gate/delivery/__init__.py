"""The Token Delivery Service client, sync and async (needs ``pip install 'tca-gate[delivery]'``).

Source addresses hold the inventory; deliveries promise tokens at once (Tokenpass sees
them) and are fulfilled on the blockchain later. Quantities are integer satoshis.
``DeliveryWebhook`` receives the service's signed notifications and makes a gate's
balance cache forget the destination; ``tca_gate.delivery.testing.DeliveryEmulator``
is an in-memory service for tests.

>>> from tca_gate.delivery import DeliveryClient
>>> tds = DeliveryClient("https://deliver.tokenly.com", "Txxxxxxxxxxxxxxx", "Kxxxxxxxx")
>>> tds.base_url
URL('https://deliver.tokenly.com')
>>> tds.close()
"""

from tca_gate.extras import require_extra

require_extra("delivery", "httpx2", "stamina", needed_by="tca_gate.delivery")

from tca_gate.errors import (
    ForbiddenError,
    MaintenanceError,
    MethodNotAllowedError,
    UnprocessableEntityError,
)
from tca_gate.public import publish
from tca_gate.service import DEFAULT_RETRIES, DEFAULT_TIMEOUT, UNCHANGED, RetryPolicy
from tca_gate.signing.tokenly.auth import TokenlyAuth

from ._account import DeliveryAccount
from ._client import AsyncDeliveryClient, DeliveryClient
from ._models import Delivery, DeliveryNotification, DeliveryState, Issuance, SourceAddress
from ._webhook import DeliveryWebhook, read_notification

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "UNCHANGED",
    "AsyncDeliveryClient",
    "Delivery",
    "DeliveryAccount",
    "DeliveryClient",
    "DeliveryNotification",
    "DeliveryState",
    "DeliveryWebhook",
    "ForbiddenError",
    "Issuance",
    "MaintenanceError",
    "MethodNotAllowedError",
    "RetryPolicy",
    "SourceAddress",
    "TokenlyAuth",
    "UnprocessableEntityError",
    "read_notification",
]

publish(__name__, globals(), __all__)
