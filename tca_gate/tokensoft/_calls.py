"""The calls, each defined once as a ``Call`` for the sync and the async client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import Call, Fields
from tca_gate.signing.tokensoft import graphql_body, graphql_string

from ._models import CurrentUser, KycInfo

#: The seed's own example query.
CURRENT_USER_QUERY = "{ currentUser { id email } }"


def query(
    endpoint: httpx2.URL,
    document: str,
    variables: Mapping[str, object] | None = None,
    operation_name: str | None = None,
) -> Call[dict[str, Any]]:
    """Run a GraphQL ``document`` and return its ``data`` (numbers with a fraction as ``Decimal``).

    ``variables`` are sent exactly (a ``Decimal`` as its string; floats are refused).
    GraphQL ``errors`` in the answer raise ``TokensoftGraphQLError``. Queries are retried
    on 429, 5xx and lost connections; a document with ``mutation`` in it never is.
    """
    graphql_body(document, variables, operation_name)  # refuse bad input before any call
    payload: dict[str, object] = {"query": document}
    if variables is not None:
        payload["variables"] = variables
    if operation_name is not None:
        payload["operationName"] = operation_name
    return Call("POST", str(endpoint), _data, json=payload)


def current_user(endpoint: httpx2.URL) -> Call[CurrentUser]:
    """The user the API key acts as: ``{ currentUser { id email } }``."""
    return Call("POST", str(endpoint), _current_user, json={"query": CURRENT_USER_QUERY})


def whitelist_user(
    endpoint: httpx2.URL, email: str, address: str, kyc: KycInfo | None = None
) -> Call[str]:
    """Authorize the investor ``email`` to hold the asset at wallet ``address`` (the SDK's
    ``authorizeUser``); returns ``whitelistUser``'s answer (the transaction's hash).

    Sent as the SDK sends it, a mutation with literal arguments and no variables:
    ``whitelistUser(email: ..., address: ..., kyc: {...})``, or without ``kyc`` the older
    ``whitelistUser(email: ..., address: ...)``. Every value is an escaped GraphQL string
    literal. A mutation, so never retried.
    """
    return Call(
        "POST", str(endpoint), _whitelisted, json={"query": whitelist_document(email, address, kyc)}
    )


def whitelist_document(email: str, address: str, kyc: KycInfo | None = None) -> str:
    """The ``whitelistUser`` mutation for ``email``, ``address`` and ``kyc``, literally.

    >>> print(whitelist_document("jay@example.com", "0x0019"))
    mutation { whitelistUser(email: "jay@example.com", address: "0x0019") }
    """
    arguments = [
        f"email: {graphql_string(email, 'email')}",
        f"address: {graphql_string(address, 'address')}",
    ]
    if kyc is not None:
        arguments.append(f"kyc: {_kyc_literal(kyc)}")
    return f"mutation {{ whitelistUser({', '.join(arguments)}) }}"


def _kyc_literal(kyc: object) -> str:
    """``kyc`` as the GraphQL input object the mutation takes."""
    if not isinstance(kyc, KycInfo):
        raise InvalidArgumentError(f"kyc must be a KycInfo (or None), not {type(kyc).__name__}")
    home = kyc.address
    fields = {
        "streetAddress": home.street_address,
        "city": home.city,
        "state": home.state,
        "zip": home.zip,
        "country": home.country,
    }
    postal = ", ".join(
        f"{name}: {graphql_string(value, f'kyc.address.{name}')}" for name, value in fields.items()
    )
    first = graphql_string(kyc.first_name, "kyc.firstName")
    last = graphql_string(kyc.last_name, "kyc.lastName")
    return f"{{ firstName: {first}, lastName: {last}, address: {{ {postal} }} }}"


def _whitelisted(data: object) -> str:
    return Fields(data, "data").text("whitelistUser")


def _data(data: object) -> dict[str, Any]:
    assert isinstance(data, dict)
    return data


def _current_user(data: object) -> CurrentUser:
    user = Fields(data, "data").fields("currentUser")
    return CurrentUser(user.text("id"), user.text("email"))
