"""Deliveries (promise, then fulfillment) and issuances."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from tca_gate.service import (
    UNCHANGED,
    Call,
    Change,
    amount,
    changes,
    done,
    flag,
    optional_text,
    path,
    some,
    text,
    texts,
    whole,
)

from . import _read as read
from ._account import DeliveryAccount
from ._models import Delivery, Issuance
from ._params import optional_flag, timestamp


def new_delivery(
    account: DeliveryAccount,
    source: str,
    destination: str,
    token: str,
    quantity: int,
    *,
    delivery_date: int | datetime | None = None,
    ref_data: str | None = None,
    hold_promise: bool | None = None,
    pseudo: bool | None = None,
) -> Call[Delivery]:
    """Deliver ``quantity`` satoshis of ``token`` from ``source`` (a source address's UUID or
    bitcoin address) to ``destination`` (a bitcoin address or ``user:{username}``).

    The service registers a Tokenpass promise at once unless ``hold_promise``; with a
    ``delivery_date`` (unix seconds or an aware ``datetime``) the delivery becomes
    ready then (and is sent, if the source address fulfils automatically), else only
    when marked ready (``update_delivery(uuid, ready=True)``). Deliveries to usernames
    take neither ``hold_promise`` nor ``delivery_date``.
    """
    return Call(
        "POST",
        "/api/v1/delivery",
        whole(read.delivery),
        json={
            "source": text("source", source),
            "destination": text("destination", destination),
            "token": text("token", token),
            "quantity": amount("quantity", quantity),
            **some(
                delivery_date=timestamp("delivery_date", delivery_date),
                ref_data=optional_text("ref_data", ref_data),
                hold_promise=optional_flag("hold_promise", hold_promise),
                pseudo=optional_flag("pseudo", pseudo),
            ),
        },
    )


def get_delivery(account: DeliveryAccount, uuid: str) -> Call[Delivery]:
    """One delivery and its state."""
    return Call("GET", path("/api/v1/delivery/{uuid}", uuid=uuid), whole(read.delivery))


def get_delivery_list(
    account: DeliveryAccount,
    *,
    source: str | None = None,
    token: str | None = None,
    destination: str | None = None,
    show_complete: bool = False,
) -> Call[tuple[Delivery, ...]]:
    """This API user's deliveries, filtered by source UUID, token and destination when
    given; complete ones only with ``show_complete``."""
    query = [
        (name, text(name, value))
        for name, value in (("source", source), ("token", token), ("destination", destination))
        if value is not None
    ]
    if flag("show_complete", show_complete):
        query.append(("show_complete", "1"))
    return Call("GET", "/api/v1/delivery", read.items(read.delivery), query=query)


def update_delivery(
    account: DeliveryAccount,
    uuid: str,
    *,
    quantity: Change[int] = UNCHANGED,
    delivery_date: Change[int | datetime | None] = UNCHANGED,
    ref_data: Change[str | None] = UNCHANGED,
    ready: Change[bool] = UNCHANGED,
) -> Call[Delivery]:
    """Change the given fields of a delivery; ``None`` clears the date or the reference data.

    A new ``quantity`` must still be in the source's inventory; ``ready=True`` lets it be
    fulfilled. Deliveries to usernames take neither a ``delivery_date`` nor ``ready``.
    """
    fields = changes(
        "update_delivery",
        quantity=quantity if quantity is UNCHANGED else amount("quantity", quantity),
        delivery_date=(
            delivery_date
            if delivery_date is UNCHANGED
            else timestamp("delivery_date", delivery_date)
        ),
        ref_data=ref_data if ref_data is UNCHANGED else optional_text("ref_data", ref_data),
        ready=ready if ready is UNCHANGED else flag("ready", ready),
    )
    return Call(
        "PATCH", path("/api/v1/delivery/{uuid}", uuid=uuid), whole(read.delivery), json=fields
    )


def cancel_delivery(account: DeliveryAccount, uuid: str) -> Call[None]:
    """Cancel an unfulfilled delivery and its Tokenpass promise."""
    return Call("DELETE", path("/api/v1/delivery/{uuid}", uuid=uuid), done, done_if_gone=True)


def fulfill_single_delivery(account: DeliveryAccount, uuid: str) -> Call[None]:
    """Propose the multi-sig payment of one ready delivery (the cosigners sign it)."""
    return Call("POST", path("/api/v1/fulfillment/single/{uuid}", uuid=uuid), done, json={})


def fulfill_multiple_deliveries(
    account: DeliveryAccount, source: str, tokens: str | Iterable[str] | None = None
) -> Call[None]:
    """Propose payments for every ready delivery from ``source`` (its UUID or bitcoin
    address), only of the ``tokens`` given: a token name, a non-empty list of them, or
    ``None`` or ``"all"`` for every token. An empty list is refused rather than sent:
    the service reads it as every token, so a filter matching nothing would send all."""
    body = {} if tokens is None else {"tokens": texts("tokens", tokens)}
    return Call(
        "POST", path("/api/v1/fulfillment/multiple/{source}", source=source), done, json=body
    )


def create_issuance(
    account: DeliveryAccount,
    source: str,
    asset: str,
    quantity: int,
    divisible: bool,
    *,
    description: str | None = None,
) -> Call[Issuance]:
    """Propose issuing ``quantity`` satoshis of ``asset`` (new, or more of it) from the
    source address ``source``; ``description`` is text or a BVAM hash."""
    return Call(
        "POST",
        path("/api/v1/issuance/{source}", source=source),
        whole(read.issuance),
        json={
            "asset": text("asset", asset),
            "divisible": flag("divisible", divisible),
            "quantity": amount("quantity", quantity),
            **some(description=optional_text("description", description)),
        },
    )
