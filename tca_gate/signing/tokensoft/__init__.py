"""Tokensoft's ``access-sign``: the wire and the signature (``_scheme``), its verifier
(``_verify``), its middleware (``_middleware``) and its ``httpx2.Auth`` (``auth``, needing
httpx2, so not imported here), which asks the server's ``{ time }`` before signing."""

from __future__ import annotations

from tca_gate.public import publish

from ._middleware import TokensoftAuthMiddleware
from ._scheme import (
    KEY_HEADER,
    SERVICE,
    SIGN_HEADER,
    TIMESTAMP_HEADER,
    graphql_body,
    graphql_string,
    is_mutation,
    is_time_query,
    time_body,
    time_value,
    tokensoft_signature,
)
from ._verify import (
    DEFAULT_WINDOW,
    TokensoftSignedRequest,
    server_time_ms,
    verify_tokensoft_request,
)

__all__ = [
    "DEFAULT_WINDOW",
    "KEY_HEADER",
    "SERVICE",
    "SIGN_HEADER",
    "TIMESTAMP_HEADER",
    "TokensoftAuthMiddleware",
    "TokensoftSignedRequest",
    "graphql_body",
    "graphql_string",
    "is_mutation",
    "is_time_query",
    "server_time_ms",
    "time_body",
    "time_value",
    "tokensoft_signature",
    "verify_tokensoft_request",
]

publish(__name__, globals(), __all__)
