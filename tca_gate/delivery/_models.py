"""What the Token Delivery Service answers, as frozen values (quantities in integer satoshis)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


class DeliveryState(enum.IntEnum):
    """Where a delivery stands: 0 pending (a promise), 1 ready to fulfil, 2 sent."""

    PENDING = 0
    READY = 1
    SENT = 2


@dataclass(frozen=True, slots=True)
class SourceAddress:
    """A multi-sig address holding the inventory deliveries are sent from.

    ``id`` is its UUID (not the bitcoin address, which is ``None`` until the wallet is
    joined). The balance maps (``{token: satoshis}``) come only with one address's
    details (``get_source_address``, ``update_source_address``); in lists they are ``None``.
    """

    id: str
    join_code: str | None
    join_callback: str | None
    webhook: str | None
    address: str | None
    complete: bool
    label: str | None
    type: str
    auto_fulfill: bool
    active: bool
    created_at: datetime
    updated_at: datetime
    desired_utxo_primes: int | None = None
    balances: Mapping[str, int] | None = field(default=None, hash=False)
    available_balances: Mapping[str, int] | None = field(default=None, hash=False)
    unconfirmed_balances: Mapping[str, int] | None = field(default=None, hash=False)
    pending_deliveries: Mapping[str, int] | None = field(default=None, hash=False)


@dataclass(frozen=True, slots=True)
class Delivery:
    """``quantity`` satoshis of ``token`` from the source ``source_uuid`` to ``destination``.

    ``destination`` is a bitcoin address or ``user:{username}``; ``delivery_tx`` is the
    fulfilling transaction once sent; ``complete`` once it is confirmed.
    """

    id: str
    source_uuid: str
    destination: str
    token: str
    quantity: int
    delivery_date: datetime | None
    ref_data: str | None
    pseudo: bool
    hold_promise: bool
    state: DeliveryState
    complete: bool
    delivery_tx: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Issuance:
    """A proposed issuance of ``quantity`` satoshis of ``asset``.

    ``copay_transaction`` is the multi-sig proposal as the service gives it (read-only).
    """

    id: str
    asset: str
    quantity: int
    copay_transaction: Mapping[str, object] = field(hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class DeliveryNotification:
    """A delivery webhook event: ``event`` (``delivery.<action>``) and the delivery it is about.

    ``usernames`` and ``addresses`` are the holders whose balances changed: the
    delivery's destination, and any others the event names.
    """

    event: str
    delivery: Delivery
    usernames: tuple[str, ...]
    addresses: tuple[str, ...]
