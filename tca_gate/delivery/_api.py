"""``DeliveryAPI``: every Token Delivery call, defined once for the sync and the async client."""

from __future__ import annotations

import httpx2

from tca_gate.delivery import _deliveries, _sources
from tca_gate.service import Endpoint

from ._account import DeliveryAccount


class DeliveryAPI:
    """The calls of the Token Delivery Service (the official PHP client's names, in snake_case).

    On ``DeliveryClient`` each returns its value; on ``AsyncDeliveryClient`` an awaitable.
    """

    context: DeliveryAccount
    base_url: httpx2.URL

    new_source_address = Endpoint(_sources.new_source_address)
    get_source_address = Endpoint(_sources.get_source_address)
    get_source_address_list = Endpoint(_sources.get_source_address_list)
    update_source_address = Endpoint(_sources.update_source_address)
    shutdown_source_address = Endpoint(_sources.shutdown_source_address)

    new_delivery = Endpoint(_deliveries.new_delivery)
    get_delivery = Endpoint(_deliveries.get_delivery)
    get_delivery_list = Endpoint(_deliveries.get_delivery_list)
    update_delivery = Endpoint(_deliveries.update_delivery)
    cancel_delivery = Endpoint(_deliveries.cancel_delivery)

    fulfill_single_delivery = Endpoint(_deliveries.fulfill_single_delivery)
    fulfill_multiple_deliveries = Endpoint(_deliveries.fulfill_multiple_deliveries)

    create_issuance = Endpoint(_deliveries.create_issuance)
