"""Reading the Token Delivery Service's JSON answers; a wrong field raises ``ShapeError``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TypeVar

from tca_gate.service import Fields, ShapeError
from tca_gate.service import done as done  # noqa: PLC0414 (re-exported: tests import it here)

from ._models import Delivery, DeliveryState, Issuance, SourceAddress

T = TypeVar("T")


def items(read: Callable[[Fields], T]) -> Callable[[object], tuple[T, ...]]:
    """A parser of ``{"count": n, "items": [...]}``: the items, each read by ``read``."""

    def parse(value: object) -> tuple[T, ...]:
        answer = Fields(value)
        answer.integer("count")
        return answer.each("items", read)

    return parse


def amounts(fields: Fields, key: str) -> Mapping[str, int] | None:
    """``{token: satoshis}`` (``[]`` when empty), or ``None`` when the answer leaves it out."""
    return None if fields.absent(key) else fields.amounts(key)


def source_address(fields: Fields) -> SourceAddress:
    return SourceAddress(
        id=fields.text("id"),
        join_code=fields.optional_text("joinCode"),
        join_callback=fields.optional_text("joinCallback"),
        webhook=fields.optional_text("webhook"),
        address=fields.optional_text("address"),
        complete=fields.flag("complete"),
        label=fields.optional_text("label"),
        type=fields.text("type"),
        auto_fulfill=fields.flag("autoFulfill"),
        active=fields.flag("active"),
        created_at=fields.timestamp("createdAt"),
        updated_at=fields.timestamp("updatedAt"),
        desired_utxo_primes=fields.optional_integer("desiredUtxoPrimes"),
        balances=amounts(fields, "balances"),
        available_balances=amounts(fields, "availableBalances"),
        unconfirmed_balances=amounts(fields, "unconfirmedBalances"),
        pending_deliveries=amounts(fields, "pendingDeliveries"),
    )


def state(fields: Fields) -> DeliveryState:
    """``state``: 0 pending, 1 ready, 2 sent."""
    value = fields.integer("state")
    if value not in DeliveryState._value2member_map_:
        raise ShapeError(fields.place("state"), "0, 1 or 2", value)
    return DeliveryState(value)


def delivery(fields: Fields) -> Delivery:
    return Delivery(
        id=fields.text("id"),
        source_uuid=fields.text("sourceUuid"),
        destination=fields.text("destination"),
        token=fields.text("token"),
        quantity=fields.amount("quantity"),
        delivery_date=fields.optional_timestamp("deliveryDate"),
        ref_data=fields.optional_text("refData"),
        pseudo=fields.flag("pseudo"),
        hold_promise=fields.flag("holdPromise"),
        state=state(fields),
        complete=fields.flag("complete"),
        delivery_tx=fields.optional_text("deliveryTx"),
        created_at=fields.timestamp("createdAt"),
        updated_at=fields.timestamp("updatedAt"),
    )


def issuance(fields: Fields) -> Issuance:
    proposal = fields.mapping("copayTransaction")
    return Issuance(
        id=fields.text("id"),
        asset=fields.text("asset"),
        quantity=fields.amount("quantity"),
        copay_transaction=MappingProxyType({key: proposal.get(key) for key in proposal.names()}),
    )
