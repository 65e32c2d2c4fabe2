"""Lookups between users and their public, active, verified addresses."""

from __future__ import annotations

import sqlite3

from tca_gate.signing.bitcoin import is_valid_address

from ._accounts import named_user, user_by_email
from ._api_error import ApiError, invalid, not_found
from ._endpoint import Call
from ._params import checked_address

_MAX_LIST = 1000
_VISIBLE = "addresses.active = 1 AND addresses.verified = 1 AND addresses.public = 1"
_OWNER = (
    "SELECT users.username, users.email FROM addresses JOIN users ON users.id = addresses.user_id"
    " WHERE address = ? AND addresses.active = 1 AND addresses.verified = 1"
    " AND addresses.public = 1"
)


def lookup_user_by_address(call: Call) -> object:
    """``GET lookup/address/{address}``: who owns a public address."""
    found = _owners(call.db, [checked_address(call.path["address"])])
    if not found:
        raise not_found("Address", "address")
    return {"result": next(iter(found.values()))}


def lookup_users_by_addresses(call: Call) -> object:
    """``POST lookup/address/null`` (and ``lookup/addresses``): the public owners of a list."""
    addresses = call.params.text_list("address_list")
    if addresses is None:
        raise invalid("address_list", "is required")
    if len(addresses) > _MAX_LIST:
        raise invalid("address_list", f"must hold at most {_MAX_LIST} addresses")
    for address in addresses:
        if not is_valid_address(address):
            raise ApiError(400, "Invalid address in address_list", field="address_list")
    return {"result": _owners(call.db, addresses)}


def lookup_address_by_user(call: Call) -> object:
    """``GET lookup/user/{username}``: the user's first public address."""
    user = named_user(call.db, call.path["username"])
    row = call.db.execute(
        f"SELECT address FROM addresses WHERE user_id = ? AND {_VISIBLE} ORDER BY position",  # noqa: S608 (a constant)
        (user["id"],),
    ).fetchone()
    if row is None:
        raise not_found("Public address", "username")
    return {"result": {"username": user["username"], "address": row[0], "email": user["email"]}}


def lookup_user_by_email(call: Call) -> object:
    """``GET lookup/email/{email}``: the account with that email and its first public address.

    ``address`` is null when the account has no public, active, verified address.
    """
    user = user_by_email(call.db, call.path["email"])
    if user is None:
        raise not_found("Email", "email")
    row = call.db.execute(
        f"SELECT address FROM addresses WHERE user_id = ? AND {_VISIBLE} ORDER BY position",  # noqa: S608 (a constant)
        (user["id"],),
    ).fetchone()
    address = None if row is None else row[0]
    return {"result": {"username": user["username"], "address": address, "email": user["email"]}}


def _owners(db: sqlite3.Connection, addresses: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for address in addresses:
        row = db.execute(_OWNER, (address,)).fetchone()
        if row is not None:
            found[address] = {"username": row[0], "address": address, "email": row[1]}
    return found
