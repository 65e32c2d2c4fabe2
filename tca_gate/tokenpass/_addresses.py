"""A user's addresses: listing, registering, verifying, updating and deleting them."""

from __future__ import annotations

from tca_gate.service import UNCHANGED, Call, Change, changes, done, flag, optional_text, path, text
from tca_gate.tokenpass import _read as read

from ._app import TokenpassApp
from ._models import Address
from ._user_token import UserCall, user_token


def get_public_addresses(app: TokenpassApp, username: str) -> Call[tuple[Address, ...]]:
    """The user's active, verified, public addresses."""
    return Call(
        "GET",
        path("/api/v1/tca/addresses/{username}", username=username),
        read.list_under("result", read.address),
    )


def get_public_address_details(app: TokenpassApp, username: str, address: str) -> Call[Address]:
    """One of the user's public addresses."""
    return Call(
        "GET",
        path("/api/v1/tca/addresses/{username}/{address}", username=username, address=address),
        read.under("result", read.address),
    )


def get_addresses_for_authenticated_user(
    app: TokenpassApp, oauth_token: str
) -> Call[tuple[Address, ...]]:
    """The token's user's addresses: all with ``private-address``, else the public ones."""
    return UserCall(
        "GET",
        "/api/v1/tca/addresses",
        read.list_under("result", read.address),
        token=user_token("oauth_token", oauth_token),
    )


def get_address_details_for_authenticated_user(
    app: TokenpassApp, address: str, oauth_token: str
) -> Call[Address]:
    """One of the token's user's addresses."""
    return UserCall(
        "GET",
        path("/api/v1/tca/address/{address}", address=address),
        read.under("result", read.address),
        token=user_token("oauth_token", oauth_token),
    )


def register_address(
    app: TokenpassApp,
    address: str,
    oauth_token: str,
    *,
    label: str = "",
    public: bool = False,
    active: bool = True,
    address_type: str = "bitcoin",
) -> Call[Address]:
    """Add an address to the user (scope ``manage-address``); sign its ``verify_code`` next."""
    return UserCall(
        "POST",
        "/api/v1/tca/address",
        read.under("result", read.address),
        json={
            "address": text("address", address),
            "label": label if isinstance(label, str) else text("label", label),
            "public": flag("public", public),
            "active": flag("active", active),
            "type": text("address_type", address_type),
        },
        token=user_token("oauth_token", oauth_token),
    )


def verify_address(app: TokenpassApp, address: str, oauth_token: str, signature: str) -> Call[None]:
    """Prove ownership with a Bitcoin signed message of the address's ``verify_code``."""
    return UserCall(
        "POST",
        path("/api/v1/tca/address/{address}", address=address),
        done,
        json={"signature": text("signature", signature)},
        token=user_token("oauth_token", oauth_token),
    )


def update_address_details(
    app: TokenpassApp,
    address: str,
    oauth_token: str,
    *,
    label: Change[str | None] = UNCHANGED,
    public: Change[bool] = UNCHANGED,
    active: Change[bool] = UNCHANGED,
) -> Call[Address]:
    """Change an address's label (``None`` clears it), visibility or activity."""
    fields = changes(
        "update_address_details",
        label=label if label is UNCHANGED else optional_text("label", label),
        public=public if public is UNCHANGED else flag("public", public),
        active=active if active is UNCHANGED else flag("active", active),
    )
    return UserCall(
        "PATCH",
        path("/api/v1/tca/address/{address}", address=address),
        read.under("result", read.address),
        json=fields,
        token=user_token("oauth_token", oauth_token),
    )


def delete_address(app: TokenpassApp, address: str, oauth_token: str) -> Call[None]:
    """Remove an address from the user (scope ``manage-address``)."""
    return UserCall(
        "DELETE",
        path("/api/v1/tca/address/{address}", address=address),
        done,
        done_if_gone=True,
        token=user_token("oauth_token", oauth_token),
    )


def instant_verify_address(
    app: TokenpassApp, username: str, msg: str, address: str, sig: str
) -> Call[None]:
    """Register and verify an address in one step, with the code from the user's pockets page."""
    return Call(
        "POST",
        path("/api/v1/instant-verify/{username}", username=username),
        done,
        json={
            "msg": text("msg", msg),
            "address": text("address", address),
            "sig": text("sig", sig),
        },
    )
