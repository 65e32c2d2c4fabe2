"""Promises (provisional transactions) and the source addresses allowed to make them."""

from __future__ import annotations

from collections.abc import Iterable

from tca_gate._service import Call, path

from . import _read as read
from ._app import TokenpassApp
from ._models import Promise, ProvisionalSources
from ._params import amount, some, text


def register_provisional_source(
    app: TokenpassApp, address: str, proof: str, assets: Iterable[str] | str | None = None
) -> Call[None]:
    """Whitelist ``address`` to promise ``assets`` (all when ``None``).

    ``proof`` is the address's signed message of ``{address}{proof_suffix}``.
    """
    listed = assets if assets is None or isinstance(assets, str) else list(assets)
    return Call(
        "POST",
        "/api/v1/tca/provisional/register",
        read.done,
        json={"address": text("address", address), "proof": text("proof", proof), "assets": listed},
    )


def get_provisional_source_list(app: TokenpassApp) -> Call[ProvisionalSources]:
    """This app's whitelisted source addresses and the proof suffix."""
    return Call("GET", "/api/v1/tca/provisional", read.provisional_sources)


def delete_provisional_source(app: TokenpassApp, address: str) -> Call[None]:
    """Take ``address`` off the whitelist."""
    return Call("DELETE", path("/api/v1/tca/provisional/{address}", address=address), read.done)


def promise_transaction(
    app: TokenpassApp,
    source: str,
    destination: str,
    asset: str,
    quantity: int,
    *,
    expiration: int | None = None,
    txid: str | None = None,
    fingerprint: str | None = None,
    ref: str | None = None,
    note: str | None = None,
) -> Call[Promise]:
    """Promise ``quantity`` base units of ``asset`` to an address or ``user:{username}``."""
    return Call(
        "POST",
        "/api/v1/tca/provisional/tx",
        read.promise_answer,
        json={
            "source": text("source", source),
            "destination": text("destination", destination),
            "asset": text("asset", asset),
            "quantity": amount("quantity", quantity),
            "expiration": _expiration(expiration),
            **some(txid=txid, fingerprint=fingerprint, ref=ref, note=note),
        },
    )


def get_promised_transaction_list(
    app: TokenpassApp, destination: str | None = None
) -> Call[tuple[Promise, ...]]:
    """This app's unexpired promises, to ``destination`` only when given."""
    query = [] if destination is None else [("destination", text("destination", destination))]
    return Call("GET", "/api/v1/tca/provisional/tx", read.promise_list, query=query)


def get_promised_transaction(app: TokenpassApp, promise_id: int) -> Call[Promise]:
    """One promise."""
    return Call(
        "GET",
        path("/api/v1/tca/provisional/tx/{promise_id}", promise_id=promise_id),
        read.promise_answer,
    )


def update_promised_transaction(
    app: TokenpassApp,
    promise_id: int,
    *,
    quantity: int | None = None,
    expiration: int | None = None,
    txid: str | None = None,
    fingerprint: str | None = None,
    ref: str | None = None,
    note: str | None = None,
) -> Call[Promise]:
    """Change a promise (``None``: unchanged)."""
    changes = some(
        quantity=None if quantity is None else amount("quantity", quantity),
        expiration=_expiration(expiration),
        txid=txid,
        fingerprint=fingerprint,
        ref=ref,
        note=note,
    )
    if not changes:
        raise ValueError("update_promised_transaction needs at least one change")
    return Call(
        "PATCH",
        path("/api/v1/tca/provisional/tx/{promise_id}", promise_id=promise_id),
        read.promise_answer,
        json=changes,
    )


def delete_promised_transaction(app: TokenpassApp, promise_id: int) -> Call[None]:
    """Withdraw a promise."""
    return Call(
        "DELETE",
        path("/api/v1/tca/provisional/tx/{promise_id}", promise_id=promise_id),
        read.done,
    )


def _expiration(value: int | None) -> int | None:
    """A unix time in seconds, or ``None``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"expiration must be a unix time in seconds, not {value!r}")
    return value
