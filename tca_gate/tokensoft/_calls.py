"""The calls, each defined once as a ``Call`` for the sync and the async client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from tca_gate._service import Call, Fields

from ._models import CurrentUser
from ._wire import graphql_body

#: The seed's own example query.
CURRENT_USER_QUERY = "{ currentUser { id email } }"


def query(
    endpoint: httpx.URL,
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


def current_user(endpoint: httpx.URL) -> Call[CurrentUser]:
    """The user the API key acts as: ``{ currentUser { id email } }``."""
    return Call("POST", str(endpoint), _current_user, json={"query": CURRENT_USER_QUERY})


def _data(data: object) -> dict[str, Any]:
    assert isinstance(data, dict)
    return data


def _current_user(data: object) -> CurrentUser:
    user = Fields(data, "data").fields("currentUser")
    return CurrentUser(user.text("id"), user.text("email"))
