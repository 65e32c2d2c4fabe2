"""Finding users by address and addresses by user; registering new users."""

from __future__ import annotations

from collections.abc import Iterable

from tca_gate.service import Call, addresses, path, text
from tca_gate.tokenpass import _read as read

from ._app import TokenpassApp
from ._models import NewUser, UserLookup


def lookup_user_by_address(app: TokenpassApp, address: str) -> Call[UserLookup]:
    """The user a public, active, verified address belongs to."""
    return Call(
        "GET",
        path("/api/v1/lookup/address/{address}", address=address),
        read.under("result", read.user_lookup),
    )


def lookup_users_by_addresses(
    app: TokenpassApp, address_list: Iterable[str]
) -> Call[dict[str, UserLookup]]:
    """The users of several addresses, by address (addresses not found are left out)."""
    return Call(
        "POST",
        "/api/v1/lookup/address/null",
        read.lookups_by_address,
        json={"address_list": addresses("address_list", address_list)},
    )


def lookup_user_by_email(app: TokenpassApp, email: str) -> Call[UserLookup]:
    """The user with this email, and their first public address (``None`` if they have none)."""
    return Call(
        "GET",
        path("/api/v1/lookup/email/{email}", email=email),
        read.under("result", read.email_lookup),
    )


def lookup_address_by_user(app: TokenpassApp, username: str) -> Call[UserLookup]:
    """A user's first public address."""
    return Call(
        "GET",
        path("/api/v1/lookup/user/{username}", username=username),
        read.under("result", read.user_lookup),
    )


def register_account(app: TokenpassApp, username: str, password: str, email: str) -> Call[NewUser]:
    """Create a Tokenpass user for this app."""
    return Call(
        "POST",
        "/api/v1/register",
        read.under("result", read.new_user),
        json={
            "client_id": app.client_id,
            "username": text("username", username),
            "password": text("password", password),
            "email": text("email", email),
        },
    )
