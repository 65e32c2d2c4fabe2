"""Every Counterparty Core API v2 call the balance source needs, as a ``Call``."""

from __future__ import annotations

from typing import Literal

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import Call, addresses, path, text

from . import _read
from ._models import Asset, AssetHoldings, Balance, NodeStatus, Page

#: Which holdings to list: the address's own, those attached to its UTXOs, or both.
BalanceType = Literal["all", "utxo", "address"]
_TYPES = ("all", "utxo", "address")
#: The longest page this client asks for (the API pages by 100 unless told).
MAX_LIMIT = 1000


def _paging(cursor: str | None, limit: int, verbose: bool) -> list[tuple[str, str]]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgumentError(f"limit must be an int from 1 to {MAX_LIMIT}, not {limit!r}")
    query = [("limit", str(limit)), ("verbose", "true" if verbose else "false")]
    if cursor is not None:
        query.append(("cursor", text("cursor", cursor)))
    return query


def _type(value: object) -> str:
    if value not in _TYPES:
        raise InvalidArgumentError(f"type must be one of {', '.join(_TYPES)}, not {value!r}")
    return str(value)


def status(node: None) -> Call[NodeStatus]:
    """Whether the node is ready, its network, version, heights and ledger state."""
    return Call("GET", _read.STATUS_PATH, _read.node_status, signed=False)


def addresses_balances(
    node: None,
    of: list[str] | tuple[str, ...],
    *,
    type: BalanceType = "all",
    cursor: str | None = None,
    limit: int = 100,
    verbose: bool = False,
) -> Call[Page[AssetHoldings]]:
    """One page of the balances of the addresses ``of``, grouped by asset."""
    query = [("addresses", ",".join(addresses("addresses", of))), ("type", _type(type))]
    return Call(
        "GET",
        "/v2/addresses/balances",
        _read.page(_read.asset_holdings),
        query=query + _paging(cursor, limit, verbose),
        signed=False,
    )


def address_balances(
    node: None,
    address: str,
    *,
    type: BalanceType = "all",
    cursor: str | None = None,
    limit: int = 100,
    verbose: bool = False,
) -> Call[Page[Balance]]:
    """One page of one address's balances, one row per asset (and per UTXO)."""
    where = path("/v2/addresses/{address}/balances", address=address)
    return _balance_page(where, type, cursor, limit, verbose)


def asset(node: None, name: str) -> Call[Asset]:
    """An asset's facts (divisibility, supply, issuer...), by name, numeric name or long name."""
    return Call("GET", path("/v2/assets/{asset}", asset=name), _read.asset, signed=False)


def asset_balances(
    node: None,
    name: str,
    *,
    type: BalanceType = "all",
    cursor: str | None = None,
    limit: int = 100,
    verbose: bool = False,
) -> Call[Page[Balance]]:
    """One page of an asset's holders."""
    where = path("/v2/assets/{asset}/balances", asset=name)
    return _balance_page(where, type, cursor, limit, verbose)


def _balance_page(
    where: str, kind: BalanceType, cursor: str | None, limit: int, verbose: bool
) -> Call[Page[Balance]]:
    """The call for one page of the balance rows at ``where`` (an address's, an asset's)."""
    return Call(
        "GET",
        where,
        _read.page(_read.balance),
        query=[("type", _type(kind)), *_paging(cursor, limit, verbose)],
        signed=False,
    )
