"""Promises (provisional transactions) and the source addresses allowed to make them."""

from __future__ import annotations

from collections.abc import Iterable

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import (
    UNCHANGED,
    Call,
    Change,
    amount,
    changes,
    done,
    optional_text,
    path,
    some,
    text,
    texts,
)
from tca_gate.tokenpass import _read as read

from ._app import TokenpassApp
from ._models import Promise, ProvisionalSources


def register_provisional_source(
    app: TokenpassApp,
    address: str,
    proof: str,
    assets: Iterable[str] | str | None = None,
    *,
    chain: str = "bitcoin",
    protocol: str | None = None,
) -> Call[None]:
    """Whitelist ``address`` on ``chain`` to promise ``assets`` (all when ``None``).

    ``proof`` is the address's signed message of ``{address}{proof_suffix}``. The chain
    is sent as ``type``, as the official client names it; ``protocol`` only when given.
    """
    listed = None if assets is None else texts("assets", assets)
    return Call(
        "POST",
        "/api/v1/tca/provisional/register",
        done,
        json={
            "address": text("address", address),
            "type": text("chain", chain),
            "proof": text("proof", proof),
            "assets": listed,
            **some(protocol=optional_text("protocol", protocol)),
        },
    )


def get_provisional_source_list(app: TokenpassApp) -> Call[ProvisionalSources]:
    """This app's whitelisted source addresses and the proof suffix."""
    return Call("GET", "/api/v1/tca/provisional", read.provisional_sources)


def delete_provisional_source(app: TokenpassApp, address: str) -> Call[None]:
    """Take ``address`` off the whitelist."""
    return Call(
        "DELETE",
        path("/api/v1/tca/provisional/{address}", address=address),
        done,
        done_if_gone=True,
    )


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
    chain: str = "bitcoin",
    protocol: str = "counterparty",
) -> Call[Promise]:
    """Promise ``quantity`` base units of ``asset`` on ``chain`` and ``protocol`` to an
    address or ``user:{username}``."""
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
            "chain": text("chain", chain),
            "protocol": text("protocol", protocol),
            **some(
                txid=optional_text("txid", txid),
                fingerprint=optional_text("fingerprint", fingerprint),
                ref=optional_text("ref", ref),
                note=optional_text("note", note),
            ),
        },
    )


def get_promised_transaction_list(
    app: TokenpassApp, destination: str | None = None
) -> Call[tuple[Promise, ...]]:
    """This app's unexpired promises, to ``destination`` only when given."""
    query = [] if destination is None else [("destination", text("destination", destination))]
    return Call("GET", "/api/v1/tca/provisional/tx", read.promise_list, query=query)


def get_promised_transaction_list_by_email_address(
    app: TokenpassApp, email: str
) -> Call[tuple[Promise, ...]]:
    """This app's unexpired promises to the account with this email."""
    return Call(
        "GET",
        path("/api/v1/tca/provisional/byemail/{email}", email=email),
        read.promise_list,
    )


def get_promised_transaction(app: TokenpassApp, promise_id: int | str) -> Call[Promise]:
    """One promise, by its ``promise_id`` or by its ``txid`` or ``fingerprint``."""
    return Call(
        "GET",
        path("/api/v1/tca/provisional/tx/{promise_id}", promise_id=promise_id),
        read.promise_answer,
    )


def update_promised_transaction(
    app: TokenpassApp,
    promise_id: int | str,
    *,
    quantity: Change[int] = UNCHANGED,
    expiration: Change[int | None] = UNCHANGED,
    txid: Change[str | None] = UNCHANGED,
    fingerprint: Change[str | None] = UNCHANGED,
    ref: Change[str | None] = UNCHANGED,
    note: Change[str | None] = UNCHANGED,
) -> Call[Promise]:
    """Change a promise (by id, txid or fingerprint); ``None`` clears the expiration or a
    text field."""
    texts_given = {"txid": txid, "fingerprint": fingerprint, "ref": ref, "note": note}
    fields = changes(
        "update_promised_transaction",
        quantity=quantity if quantity is UNCHANGED else amount("quantity", quantity),
        expiration=expiration if expiration is UNCHANGED else _expiration(expiration),
        **{
            name: value if value is UNCHANGED else optional_text(name, value)
            for name, value in texts_given.items()
        },
    )
    return Call(
        "PATCH",
        path("/api/v1/tca/provisional/tx/{promise_id}", promise_id=promise_id),
        read.promise_answer,
        json=fields,
    )


def delete_promised_transaction(app: TokenpassApp, promise_id: int | str) -> Call[None]:
    """Withdraw a promise (by id, txid or fingerprint)."""
    return Call(
        "DELETE",
        path("/api/v1/tca/provisional/tx/{promise_id}", promise_id=promise_id),
        done,
        done_if_gone=True,
    )


def _expiration(value: int | None) -> int | None:
    """A unix time in seconds, or ``None``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidArgumentError(f"expiration must be a unix time in seconds, not {value!r}")
    return value
