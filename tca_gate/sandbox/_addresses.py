"""A user's addresses ("pockets"): listing, registering, proving ownership, updating, deleting.

Ownership is proved with a Bitcoin signed message of the address's ``verify_code``
(or, for instant verification, of a code minted for the user), checked with
libsecp256k1. ``active`` and ``verified`` show only under the ``manage-address``
scope, and ``verify_code`` only while the address is unverified.

Claims before proof are cheap, so several users may hold unverified claims on one
address, each with its own ``verify_code``; the first proof (verify or
instant-verify) wins the address and drops the other claims. A verified address
belongs to its prover alone: another user's claim on it is a 409.
"""

from __future__ import annotations

import secrets
import sqlite3

from tca_gate.signing.bitcoin import verify_message

from ._accounts import named_user
from ._api_error import ApiError, invalid, not_found
from ._balances import address_balances
from ._endpoint import Call
from ._params import checked_address

_TYPES = {"bitcoin", "btc"}
MANAGE = "manage-address"


def address_object(
    db: sqlite3.Connection, row: sqlite3.Row, now: float, *, manage: bool
) -> dict[str, object]:
    """The address object Tokenpass answers with."""
    answer: dict[str, object] = {
        "address": row["address"],
        "balances": address_balances(db, row["address"], now),
        "public": bool(row["public"]),
        "label": row["label"],
    }
    if manage:
        answer["active"] = bool(row["active"])
        answer["verified"] = bool(row["verified"])
        if not row["verified"]:
            answer["verify_code"] = row["verify_code"]
    return answer


def new_verify_code() -> str:
    """A fresh message for the owner of a new address to sign."""
    return f"tca-gate-sandbox-verify-{secrets.token_hex(12)}"


def public_addresses(call: Call) -> object:
    """``GET tca/addresses/{username}``: the user's active, verified, public addresses."""
    user = named_user(call.db, call.path["username"])
    rows = call.db.execute(
        "SELECT * FROM addresses WHERE user_id = ? AND active = 1 AND verified = 1 AND public = 1"
        " ORDER BY position",
        (user["id"],),
    )
    return {"result": [address_object(call.db, row, call.now, manage=False) for row in rows]}


def public_address_details(call: Call) -> object:
    """``GET tca/addresses/{username}/{address}``: one active, verified, public address."""
    user = named_user(call.db, call.path["username"])
    address = checked_address(call.path["address"])
    row = call.db.execute(
        "SELECT * FROM addresses WHERE user_id = ? AND address = ? AND active = 1"
        " AND verified = 1 AND public = 1",
        (user["id"], address),
    ).fetchone()
    if row is None:
        raise not_found("Address", "address")
    return {"result": address_object(call.db, row, call.now, manage=False)}


def own_addresses(call: Call) -> object:
    """``GET tca/addresses``: every address under ``private-address``, else the public ones."""
    condition = (
        "" if "private-address" in call.scopes else "AND active = 1 AND verified = 1 AND public = 1"
    )
    rows = call.db.execute(
        f"SELECT * FROM addresses WHERE user_id = ? {condition} ORDER BY position",  # noqa: S608 (a constant)
        (call.account["id"],),
    )
    manage = MANAGE in call.scopes
    return {"result": [address_object(call.db, row, call.now, manage=manage) for row in rows]}


def own_address_details(call: Call) -> object:
    """``GET tca/address/{address}``: one of the user's addresses.

    Without ``private-address`` only an active, verified, public one, as in the list.
    """
    row = _own_address(call)
    if "private-address" not in call.scopes and not (
        row["active"] and row["verified"] and row["public"]
    ):
        raise not_found("Address", "address")
    return {"result": address_object(call.db, row, call.now, manage=MANAGE in call.scopes)}


def register_address(call: Call) -> object:
    """``POST tca/address``: a new, unverified address with a ``verify_code`` to sign."""
    address = call.params.address("address")
    label = call.params.optional_text("label") or ""
    public = call.params.flag("public", False)
    active = call.params.flag("active", True)
    kind = call.params.optional_text("type") or "bitcoin"
    if kind.lower() not in _TYPES:
        raise invalid("type", "only bitcoin addresses are supported")
    if call.db.execute(
        "SELECT 1 FROM addresses WHERE address = ? AND user_id = ?", (address, call.account["id"])
    ).fetchone():
        raise ApiError(409, "this address is already registered", field="address")
    _refuse_if_proved_by_another(call, address, call.account["id"])
    code = new_verify_code()
    call.db.execute(
        "INSERT INTO addresses (address, user_id, label, public, active, verified, verify_code,"
        " position, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 0, ?, (SELECT coalesce(max(position), 0) + 1 FROM addresses),"
        " ?, ?)",
        (address, call.account["id"], label, public, active, code, int(call.now), int(call.now)),
    )
    return {"result": address_object(call.db, _own_address(call, address), call.now, manage=True)}


def verify_address(call: Call) -> object:
    """``POST tca/address/{address}``: prove ownership with a signed ``verify_code``."""
    row = _own_address(call)
    signature = call.params.text("signature", max_length=200)
    if not row["verified"]:
        if not verify_message(row["address"], row["verify_code"], signature):
            raise ApiError(
                400, "the signature does not prove ownership of the address", field="signature"
            )
        _refuse_if_proved_by_another(call, row["address"], call.account["id"])
        _mark_verified(call, row["address"], call.account["id"])
    return {"result": True}


def update_address(call: Call) -> object:
    """``PATCH tca/address/{address}``: change the label, public or active flags."""
    row = _own_address(call)
    label = call.params.optional_text("label") if call.params.has("label") else row["label"]
    call.db.execute(
        "UPDATE addresses SET label = ?, public = ?, active = ?, updated_at = ?"
        " WHERE address = ? AND user_id = ?",
        (
            label or "",
            call.params.flag("public", bool(row["public"])),
            call.params.flag("active", bool(row["active"])),
            int(call.now),
            row["address"],
            call.account["id"],
        ),
    )
    updated = _own_address(call, row["address"])
    return {"result": address_object(call.db, updated, call.now, manage=True)}


def delete_address(call: Call) -> object:
    """``DELETE tca/address/{address}``: remove the address from the user's account."""
    row = _own_address(call)
    call.db.execute(
        "DELETE FROM addresses WHERE address = ? AND user_id = ?",
        (row["address"], call.account["id"]),
    )
    return {"result": True}


def instant_verify(call: Call) -> object:
    """``POST instant-verify/{username}``: register and verify an address in one step."""
    user = named_user(call.db, call.path["username"])
    msg = call.params.text("msg", max_length=200)
    address = call.params.address("address")
    signature = call.params.text("sig", max_length=200)
    code = call.db.execute(
        "SELECT 1 FROM instant_codes WHERE msg = ? AND user_id = ? AND expires_at > ?",
        (msg, user["id"], call.now),
    ).fetchone()
    if code is None:
        raise ApiError(400, "msg is not a current verification code of this user", field="msg")
    if not verify_message(address, msg, signature):
        raise ApiError(400, "the signature does not prove ownership of the address", field="sig")
    _refuse_if_proved_by_another(call, address, user["id"])
    claimed = call.db.execute(
        "SELECT 1 FROM addresses WHERE address = ? AND user_id = ?", (address, user["id"])
    ).fetchone()
    if claimed is None:
        call.db.execute(
            "INSERT INTO addresses (address, user_id, label, public, active, verified, position,"
            " created_at, updated_at) VALUES (?, ?, '', 0, 1, 1,"
            " (SELECT coalesce(max(position), 0) + 1 FROM addresses), ?, ?)",
            (address, user["id"], int(call.now), int(call.now)),
        )
    _mark_verified(call, address, user["id"])
    call.db.execute("DELETE FROM instant_codes WHERE msg = ?", (msg,))
    return {"result": True}


def _refuse_if_proved_by_another(call: Call, address: str, user_id: int) -> None:
    """409 when another user has already proved they own ``address``."""
    if call.db.execute(
        "SELECT 1 FROM addresses WHERE address = ? AND verified = 1 AND user_id != ?",
        (address, user_id),
    ).fetchone():
        raise ApiError(409, "this address is registered to another user", field="address")


def _mark_verified(call: Call, address: str, user_id: int) -> None:
    """The user's claim on ``address`` is proved; every other user's claim is dropped."""
    call.db.execute("DELETE FROM addresses WHERE address = ? AND user_id != ?", (address, user_id))
    call.db.execute(
        "UPDATE addresses SET verified = 1, verify_code = NULL, updated_at = ?"
        " WHERE address = ? AND user_id = ?",
        (int(call.now), address, user_id),
    )


def _own_address(call: Call, address: str | None = None) -> sqlite3.Row:
    address = address or checked_address(call.path["address"])
    row: sqlite3.Row | None = call.db.execute(
        "SELECT * FROM addresses WHERE address = ? AND user_id = ?", (address, call.account["id"])
    ).fetchone()
    if row is None:
        raise not_found("Address", "address")
    return row
