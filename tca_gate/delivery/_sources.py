"""Source addresses: the multi-sig inventories deliveries are sent from."""

from __future__ import annotations

from tca_gate.delivery import _read as read
from tca_gate.service import (
    UNCHANGED,
    Call,
    Change,
    changes,
    done,
    flag,
    optional_text,
    path,
    some,
    text,
    whole,
)

from ._account import DeliveryAccount
from ._models import SourceAddress
from ._params import address_type, count, optional_flag


def new_source_address(
    account: DeliveryAccount,
    label: str | None = None,
    type: str | None = None,
    webhook: str | None = None,
    join_callback: str | None = None,
    *,
    auto_fulfill: bool | None = None,
    active: bool | None = None,
    desired_utxo_primes: int | None = None,
) -> Call[SourceAddress]:
    """Request a new source address; join it with ``join_code`` in a Tokenly Pockets wallet.

    ``type`` is ``"2:2"`` (every delivery approved in the wallet) or ``"2:3"`` (the
    service's default; cosigner agents can automate it). Left-out fields take the
    service's defaults.
    """
    return Call(
        "POST",
        "/api/v1/source",
        whole(read.source_address),
        json=some(
            type=None if type is None else address_type(type),
            label=optional_text("label", label),
            join_callback=optional_text("join_callback", join_callback),
            webhook=optional_text("webhook", webhook),
            auto_fulfill=optional_flag("auto_fulfill", auto_fulfill),
            active=optional_flag("active", active),
            desired_utxo_primes=(
                None
                if desired_utxo_primes is None
                else count("desired_utxo_primes", desired_utxo_primes)
            ),
        ),
    )


def get_source_address(account: DeliveryAccount, uuid: str) -> Call[SourceAddress]:
    """One source address with its balances (``uuid`` is its id, not the bitcoin address)."""
    return Call("GET", path("/api/v1/source/{uuid}", uuid=uuid), whole(read.source_address))


def get_source_address_list(account: DeliveryAccount) -> Call[tuple[SourceAddress, ...]]:
    """Every source address of this API user (without balances)."""
    return Call("GET", "/api/v1/source", read.items(read.source_address))


def update_source_address(
    account: DeliveryAccount,
    uuid: str,
    *,
    label: Change[str] = UNCHANGED,
    join_callback: Change[str] = UNCHANGED,
    webhook: Change[str] = UNCHANGED,
    auto_fulfill: Change[bool] = UNCHANGED,
    active: Change[bool] = UNCHANGED,
    desired_utxo_primes: Change[int] = UNCHANGED,
) -> Call[SourceAddress]:
    """Change the given fields of a source address; the others stay as they are."""
    fields = changes(
        "update_source_address",
        label=label if label is UNCHANGED else text("label", label),
        join_callback=(
            join_callback if join_callback is UNCHANGED else text("join_callback", join_callback)
        ),
        webhook=webhook if webhook is UNCHANGED else text("webhook", webhook),
        auto_fulfill=(
            auto_fulfill if auto_fulfill is UNCHANGED else flag("auto_fulfill", auto_fulfill)
        ),
        active=active if active is UNCHANGED else flag("active", active),
        desired_utxo_primes=(
            desired_utxo_primes
            if desired_utxo_primes is UNCHANGED
            else count("desired_utxo_primes", desired_utxo_primes)
        ),
    )
    return Call(
        "PATCH",
        path("/api/v1/source/{uuid}", uuid=uuid),
        whole(read.source_address),
        json=fields,
    )


def shutdown_source_address(
    account: DeliveryAccount, uuid: str, sweep_address: str | None = None
) -> Call[None]:
    """Shut down and archive a source address, sweeping its tokens and BTC to
    ``sweep_address`` (the API user's backup address when ``None``).

    ``sweep_address`` travels in the query, as the official client sends it (a bodiless
    DELETE is signed over its query). Its pending deliveries must be cancelled first, or
    the service refuses.
    """
    query = (
        () if sweep_address is None else (("sweep_address", text("sweep_address", sweep_address)),)
    )
    return Call(
        "DELETE",
        path("/api/v1/source/{uuid}", uuid=uuid),
        done,
        query=query,
        done_if_gone=True,
    )
