"""What Counterparty Core's API v2 answers, as frozen dataclasses (quantities in base units)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: The ledger state of a node that is up to date with Bitcoin.
FOLLOWING = "Following"


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """``GET /v2/``: whether the node serves data (``server_ready``) and how far it has got."""

    server_ready: bool
    network: str
    version: str
    backend_height: int | None
    counterparty_height: int | None
    ledger_state: str

    @property
    def ready(self) -> bool:
        """Whether the node's balances are current: ready and following the chain."""
        return self.server_ready and self.ledger_state == FOLLOWING


@dataclass(frozen=True, slots=True)
class Holding:
    """One holding of an asset: by ``address`` itself, or attached to ``utxo`` (then
    ``address`` is null and ``utxo_address`` owns the UTXO)."""

    address: str | None
    utxo: str | None
    utxo_address: str | None
    quantity: int

    @property
    def owner(self) -> str:
        """The address the holding counts for: the holder, or the UTXO's owner."""
        owner = self.address or self.utxo_address
        assert owner is not None  # the reader refuses a holding with neither
        return owner


@dataclass(frozen=True, slots=True)
class AssetHoldings:
    """One asset's holdings among the addresses asked about (``/v2/addresses/balances``).

    ``asset_longname`` names a subasset (``PARENT.child``); ``divisible`` comes only
    with ``verbose=True`` (``None`` otherwise).
    """

    asset: str
    asset_longname: str | None
    total: int
    holdings: tuple[Holding, ...]
    divisible: bool | None = None

    @property
    def name(self) -> str:
        """The name rules use: the long name of a subasset, else the asset."""
        return self.asset_longname or self.asset


@dataclass(frozen=True, slots=True)
class Balance:
    """One address's (or UTXO's) balance of one asset (``/v2/addresses/{address}/balances``,
    ``/v2/assets/{asset}/balances``); ``divisible`` only with ``verbose=True``."""

    asset: str
    asset_longname: str | None
    holding: Holding
    divisible: bool | None = None

    @property
    def name(self) -> str:
        """The name rules use: the long name of a subasset, else the asset."""
        return self.asset_longname or self.asset


@dataclass(frozen=True, slots=True)
class Asset:
    """``GET /v2/assets/{asset}``: an asset's issuance facts. ``divisible`` assets count
    in 10^-8 units, indivisible ones in whole tokens."""

    asset: str
    asset_longname: str | None
    divisible: bool
    locked: bool
    supply: int
    issuer: str | None
    owner: str | None
    description: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its ``items``, the ``next_cursor`` to ask for the next
    (``None`` on the last page) and ``result_count``, the size of the whole list."""

    items: tuple[T, ...]
    next_cursor: str | None
    result_count: int
