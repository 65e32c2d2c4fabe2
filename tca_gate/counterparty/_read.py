"""Reading Counterparty Core's answers field by field; an answer from a node whose ledger
is not current is refused, whatever its body says."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx2

from tca_gate.errors import ServiceUnavailableError
from tca_gate.service import Fields, ShapeError
from tca_gate.wire.urls import signing_url

from ._models import FOLLOWING, Asset, AssetHoldings, Balance, Holding, NodeStatus, Page

SERVICE = "Counterparty"
STATUS_PATH = "/v2/"
T = TypeVar("T")


def refuse_if_behind(path: str, response: httpx2.Response) -> None:
    """Raise ``ServiceUnavailableError`` (retried like a 503) for a data answer whose
    headers say the node's ledger is not current: it is catching up, its balances old."""
    ready = response.headers.get("x-counterparty-ready", "true").lower()
    state = response.headers.get("x-ledger-state", FOLLOWING)
    if response.is_success and path != STATUS_PATH and (ready != "true" or state != FOLLOWING):
        raise ServiceUnavailableError(
            f"the node is not up to date (ledger {state!r})",
            service=SERVICE,
            method=response.request.method,
            url=signing_url(str(response.request.url)),
            status=response.status_code,
        )


def node_status(data: object) -> NodeStatus:
    """``{"result": {"server_ready", "network", "version", ..., "ledger_state"}}``."""
    result = Fields(data).fields("result")
    return NodeStatus(
        server_ready=result.flag("server_ready"),
        network=result.text("network"),
        version=result.text("version"),
        backend_height=result.optional_integer("backend_height"),
        counterparty_height=result.optional_integer("counterparty_height"),
        ledger_state=result.text("ledger_state"),
    )


def page(item: Callable[[Fields], T]) -> Callable[[object], Page[T]]:
    """A reader of ``{"result": [...], "next_cursor", "result_count"}`` with ``item`` per entry."""

    def read(data: object) -> Page[T]:
        answer = Fields(data)
        items = tuple(item(Fields(value, where)) for where, value in answer.elements("result"))
        cursor = answer.get("next_cursor")
        if cursor is not None and (isinstance(cursor, bool) or not isinstance(cursor, int | str)):
            raise ShapeError("next_cursor", "a cursor or null", cursor)
        count = answer.integer("result_count")
        if count < len(items):
            raise ShapeError("result_count", f"at least {len(items)}", count)
        return Page(items, None if cursor is None else str(cursor), count)

    return read


def asset_holdings(entry: Fields) -> AssetHoldings:
    """An asset's entry of ``/v2/addresses/balances``, its holdings checked to add up."""
    holdings = tuple(holding(Fields(value, where)) for where, value in entry.elements("addresses"))
    total = entry.amount("total")
    if total != sum(held.quantity for held in holdings):
        raise ShapeError(entry.place("total"), "the sum of the addresses' quantities", total)
    return AssetHoldings(
        asset=entry.text("asset"),
        asset_longname=entry.optional_text("asset_longname"),
        total=total,
        holdings=holdings,
        divisible=_divisible(entry),
    )


def balance(entry: Fields) -> Balance:
    """A row of ``/v2/addresses/{address}/balances`` or ``/v2/assets/{asset}/balances``."""
    return Balance(
        asset=entry.text("asset"),
        asset_longname=entry.optional_text("asset_longname"),
        holding=holding(entry),
        divisible=_divisible(entry),
    )


def holding(entry: Fields) -> Holding:
    """Who holds how much: an address, or a UTXO and its owner; never a negative quantity."""
    held = Holding(
        address=entry.optional_text("address"),
        utxo=entry.optional_text("utxo"),
        utxo_address=entry.optional_text("utxo_address"),
        quantity=entry.amount("quantity"),
    )
    if held.quantity < 0:
        raise ShapeError(entry.place("quantity"), "not negative", held.quantity)
    if held.address is None and (held.utxo is None or held.utxo_address is None):
        raise ShapeError(entry.place("address"), "an address, or a utxo and its owner", None)
    return held


def asset(data: object) -> Asset:
    """``{"result": {"asset", "asset_longname", "divisible", "locked", "supply", ...}}``."""
    result = Fields(data).fields("result")
    return Asset(
        asset=result.text("asset"),
        asset_longname=result.optional_text("asset_longname"),
        divisible=result.flag("divisible"),
        locked=result.flag("locked"),
        supply=result.amount("supply"),
        issuer=result.optional_text("issuer"),
        owner=result.optional_text("owner"),
        description=result.optional_text("description") or "",
    )


def _divisible(entry: Fields) -> bool | None:
    """``asset_info.divisible`` of a verbose answer, ``None`` when the answer is not verbose."""
    return None if entry.absent("asset_info") else entry.fields("asset_info").flag("divisible")
