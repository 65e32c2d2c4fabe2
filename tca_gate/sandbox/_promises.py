"""Promises (provisional transactions) and the source addresses an app may promise from.

A promise adds its quantity to the destination and counts against the source
until it expires. It may not exceed what the source really holds less what the
source has already promised, and an app promises only from addresses it has
proved it controls (a signature of ``{address}_{sha256 hex of client_id}``).
Sources and promises carry the ``chain`` and ``protocol`` they are on (stored and
returned as given; ``bitcoin`` and ``counterparty`` by default). A promise is named
by its ``promise_id``, its ``txid`` or its ``fingerprint``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

from tca_gate.signing.bitcoin import is_valid_address, verify_message

from ._accounts import find_user, user_by_email
from ._api_error import ApiError, invalid, not_found
from ._balances import LIVE, promised_from, real_balance
from ._clock import timestamp
from ._endpoint import Call
from ._limits import DEFAULT_CHAIN, DEFAULT_PROTOCOL, MAX_SAT, is_asset_name
from ._params import checked_address
from ._webhooks import promise_event

_MAX_EXPIRATION = 2**40
_MAX_ASSETS = 100


def proof_suffix(client_id: str) -> str:
    """``_{sha256 hex of client_id}``: what a source's proof signs after its address."""
    return "_" + hashlib.sha256(client_id.encode()).hexdigest()


def whitelist_source(
    db: sqlite3.Connection,
    client_id: str,
    address: str,
    assets: list[str] | None,
    *,
    chain: str = DEFAULT_CHAIN,
    protocol: str = DEFAULT_PROTOCOL,
) -> None:
    """Allow ``client_id`` to promise from ``address`` (only ``assets``, when given)."""
    db.execute(
        "INSERT INTO provisional_sources (client_id, address, assets, chain, protocol)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (client_id, address) DO UPDATE"
        " SET assets = excluded.assets, chain = excluded.chain, protocol = excluded.protocol",
        (client_id, address, None if assets is None else json.dumps(assets), chain, protocol),
    )


def insert_promise(
    db: sqlite3.Connection, client_id: str, fields: dict[str, object], now: float
) -> int:
    """Record a promise after checking it against the source's balance; its ``promise_id``."""
    quantity = fields["quantity"]
    assert isinstance(quantity, int)
    check_within_balance(db, str(fields["source"]), str(fields["asset"]), quantity, now)
    cursor = db.execute(
        "INSERT INTO promises (client_id, source, destination, asset, quantity, expiration, txid,"
        " fingerprint, ref, note, chain, protocol, created_at, updated_at) VALUES (:client_id,"
        " :source, :destination, :asset, :quantity, :expiration, :txid, :fingerprint, :ref,"
        " :note, :chain, :protocol, :now, :now)",
        {
            "client_id": client_id,
            "now": int(now),
            "chain": DEFAULT_CHAIN,
            "protocol": DEFAULT_PROTOCOL,
            **fields,
        },
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def check_within_balance(
    db: sqlite3.Connection,
    source: str,
    asset: str,
    quantity: int,
    now: float,
    *,
    besides: int | None = None,
) -> None:
    """422 when ``quantity`` exceeds the source's real balance less its other live promises."""
    available = real_balance(db, source, asset) - promised_from(
        db, source, asset, now, besides=besides
    )
    if quantity > available:
        raise invalid(
            "quantity",
            f"{quantity} exceeds the {max(available, 0)} satoshis of {asset}"
            " the source can still promise",
        )


def promise_object(row: sqlite3.Row) -> dict[str, object]:
    """The provisional TX object."""
    return {
        "promise_id": row["id"],
        "source": row["source"],
        "destination": row["destination"],
        "asset": row["asset"],
        "quantity": row["quantity"],
        "fingerprint": row["fingerprint"],
        "txid": row["txid"],
        "ref": row["ref"],
        "note": row["note"],
        "expiration": row["expiration"],
        "pseudo": bool(row["pseudo"]),
        "chain": row["chain"],
        "protocol": row["protocol"],
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
    }


def register_source(call: Call) -> object:
    """``POST tca/provisional/register``: whitelist a source address with a proof."""
    address = call.params.address("address")
    proof = call.params.text("proof", max_length=200)
    if not verify_message(address, address + proof_suffix(call.app_id), proof):
        raise ApiError(400, "the proof does not prove ownership of the address", field="proof")
    assets = call.params.text_list("assets")
    if assets is not None:
        if len(assets) > _MAX_ASSETS or not all(is_asset_name(asset) for asset in assets):
            raise invalid("assets", f"must be at most {_MAX_ASSETS} asset names")
        assets = assets or None
    whitelist_source(
        call.db,
        call.app_id,
        address,
        assets,
        chain=_source_chain(call),
        protocol=call.params.chain_name("protocol", DEFAULT_PROTOCOL),
    )
    return {"result": True}


def _source_chain(call: Call) -> str:
    """``chain``, or ``type`` as the official PHP client names it; 422 if both differ."""
    chain = call.params.chain_name("chain", DEFAULT_CHAIN)
    kind = call.params.chain_name("type", chain)
    if call.params.values.get("chain") is not None and kind != chain:
        raise invalid("type", "names another chain than chain does")
    return kind


def list_sources(call: Call) -> object:
    """``GET tca/provisional``: this app's whitelisted sources."""
    rows = call.db.execute(
        "SELECT address, assets, chain, protocol FROM provisional_sources WHERE client_id = ?"
        " ORDER BY address",
        (call.app_id,),
    )
    whitelist = [
        {
            "address": address,
            "assets": None if assets is None else json.loads(assets),
            "chain": chain,
            "protocol": protocol,
        }
        for address, assets, chain, protocol in rows
    ]
    return {"result": True, "proof_suffix": proof_suffix(call.app_id), "whitelist": whitelist}


def delete_source(call: Call) -> object:
    """``DELETE tca/provisional/{address}``: stop promising from an address."""
    address = checked_address(call.path["address"])
    deleted = call.db.execute(
        "DELETE FROM provisional_sources WHERE client_id = ? AND address = ?",
        (call.app_id, address),
    )
    if not deleted.rowcount:
        raise not_found("Source address", "address")
    return {"result": True}


def promise_transaction(call: Call) -> object:
    """``POST tca/provisional/tx``: promise tokens from a whitelisted source."""
    source = call.params.address("source")
    destination = _destination(call, call.params.text("destination", max_length=100))
    asset = call.params.asset("asset")
    if destination == source:
        raise invalid("destination", "must differ from the source")
    _check_whitelisted(call, source, asset)
    fields: dict[str, object] = {
        "source": source,
        "destination": destination,
        "asset": asset,
        "quantity": call.params.integer("quantity", minimum=1, maximum=MAX_SAT),
        "expiration": _expiration(call),
        "chain": call.params.chain_name("chain", DEFAULT_CHAIN),
        "protocol": call.params.chain_name("protocol", DEFAULT_PROTOCOL),
    }
    for name in ("txid", "fingerprint", "ref", "note"):
        fields[name] = call.params.optional_text(name)
    promise_id = insert_promise(call.db, call.app_id, fields, call.now)
    return _announced(call, "created", promise_object(_live_promise(call, promise_id)))


def list_promises(call: Call) -> object:
    """``GET tca/provisional/tx``: this app's live promises (to one destination, if asked)."""
    named = call.params.optional_text("destination", max_length=100)
    destination = None if named is None else _destination(call, named)
    rows = call.db.execute(
        f"SELECT * FROM promises WHERE client_id = :client AND {LIVE}"  # noqa: S608 (a constant)
        " AND (:destination IS NULL OR destination = :destination) ORDER BY id",
        {"client": call.app_id, "now": call.now, "destination": destination},
    )
    return {"result": True, "list": [promise_object(row) for row in rows]}


def list_promises_by_email(call: Call) -> object:
    """``GET tca/provisional/byemail/{email}``: this app's live promises to that account.

    Those to ``user:{username}`` and to the account's verified addresses; an email no
    account has received none (promises to unregistered emails are not modelled).
    """
    user = user_by_email(call.db, call.path["email"])
    if user is None:
        return {"result": True, "list": []}
    rows = call.db.execute(
        f"SELECT * FROM promises WHERE client_id = :client AND {LIVE} AND (destination = :user"  # noqa: S608 (a constant)
        " OR destination IN (SELECT address FROM addresses WHERE user_id = :id AND verified = 1))"
        " ORDER BY id",
        {
            "client": call.app_id,
            "now": call.now,
            "user": f"user:{user['username']}",
            "id": user["id"],
        },
    )
    return {"result": True, "list": [promise_object(row) for row in rows]}


def get_promise(call: Call) -> object:
    """``GET tca/provisional/tx/{promise_id|txid|fingerprint}``: one live promise of this app."""
    return {"result": True, "tx": promise_object(_live_promise(call))}


def update_promise(call: Call) -> object:
    """``PATCH tca/provisional/tx/{promise_id}``: change quantity, expiration or references.

    The source must still be whitelisted for the asset, as when the promise was made.
    """
    row = _live_promise(call)
    _check_whitelisted(call, row["source"], row["asset"])
    changes: dict[str, object] = {}
    if call.params.has("quantity"):
        quantity = call.params.integer("quantity", minimum=1, maximum=MAX_SAT)
        check_within_balance(
            call.db, row["source"], row["asset"], quantity, call.now, besides=row["id"]
        )
        changes["quantity"] = quantity
    if call.params.has("expiration"):
        changes["expiration"] = _expiration(call)
    for name in ("txid", "fingerprint", "ref", "note"):
        if call.params.has(name):
            changes[name] = call.params.optional_text(name)
    assignments = "".join(f"{name} = :{name}, " for name in changes)
    call.db.execute(
        f"UPDATE promises SET {assignments}updated_at = :now WHERE id = :id",  # noqa: S608 (names from a fixed set)
        {**changes, "now": int(call.now), "id": row["id"]},
    )
    return _announced(call, "updated", promise_object(_live_promise(call, row["id"])))


def delete_promise(call: Call) -> object:
    """``DELETE tca/provisional/tx/{promise_id}``: withdraw a promise."""
    row = _live_promise(call)
    call.db.execute("DELETE FROM promises WHERE id = ?", (row["id"],))
    _announced(call, "deleted", promise_object(row))
    return {"result": True}


def _announced(call: Call, action: str, promise: dict[str, object]) -> dict[str, object]:
    """Send ``promise.{action}`` to the app's webhook; the answer carrying the promise."""
    call.state.webhooks.send(call.db, call.app_id, promise_event(call.db, action, promise))
    return {"result": True, "tx": promise}


def _check_whitelisted(call: Call, source: str, asset: str) -> None:
    """422 unless this app may promise ``asset`` from ``source``."""
    row = call.db.execute(
        "SELECT assets FROM provisional_sources WHERE client_id = ? AND address = ?",
        (call.app_id, source),
    ).fetchone()
    if row is None:
        raise invalid("source", "is not a whitelisted source of this app")
    if row[0] is not None and asset not in json.loads(row[0]):
        raise invalid("asset", "is not one the source is whitelisted for")


def _destination(call: Call, destination: str) -> str:
    """An address, or ``user:{username}`` spelt as the user's name is stored."""
    if destination.startswith("user:"):
        user = find_user(call.db, destination.removeprefix("user:"))
        if user is None:
            raise invalid("destination", "names no Tokenpass user")
        return f"user:{user['username']}"
    if not is_valid_address(destination):
        raise ApiError(400, "destination is not an address or user:{username}", field="destination")
    return destination


def _expiration(call: Call) -> int | None:
    expiration = call.params.optional_integer("expiration", minimum=0, maximum=_MAX_EXPIRATION)
    if expiration is not None and expiration <= call.now:
        raise invalid("expiration", "is in the past")
    return expiration


def _live_promise(call: Call, promise_id: int | None = None) -> sqlite3.Row:
    """This app's live promise named by ``promise_id`` or the path: an id, a txid or a
    fingerprint (an id first); 404 if none, 409 if a txid or fingerprint names several."""
    if promise_id is None:
        text = call.path["promise_id"]
        if text.isascii() and text.isdigit() and len(text) <= 18:
            found = _live_promise_by_id(call, int(text))
            if found is not None:
                return found
        return _live_promise_by_reference(call, text)
    row = _live_promise_by_id(call, promise_id)
    if row is None:
        raise not_found("Promise", "promise_id")
    return row


def _live_promise_by_id(call: Call, promise_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = call.db.execute(
        f"SELECT * FROM promises WHERE id = :id AND client_id = :client AND {LIVE}",  # noqa: S608 (a constant)
        {"id": promise_id, "client": call.app_id, "now": call.now},
    ).fetchone()
    return row


def _live_promise_by_reference(call: Call, reference: str) -> sqlite3.Row:
    rows = call.db.execute(
        f"SELECT * FROM promises WHERE (txid = :ref OR fingerprint = :ref)"  # noqa: S608 (a constant)
        f" AND client_id = :client AND {LIVE} ORDER BY id LIMIT 2",
        {"ref": reference, "client": call.app_id, "now": call.now},
    ).fetchall()
    if not rows:
        raise not_found("Promise", "promise_id")
    if len(rows) > 1:
        raise ApiError(
            409,
            "several promises have this txid or fingerprint: use the promise_id",
            field="promise_id",
        )
    row: sqlite3.Row = rows[0]
    return row
