"""Tokensoft's GraphQL API (the ``tokensoft`` extra): ``TokensoftClient``, ``AsyncTokensoftClient``.

Every call is a POST of a GraphQL document to your endpoint, signed with ``access-key``,
``access-timestamp`` (the server's own ``{ time }``, so local clock skew does not matter)
and ``access-sign`` = hex HMAC-SHA256(secret, timestamp + the exact body sent), afresh
for each attempt. ``query(document, variables)`` returns ``data`` with exact decimals;
GraphQL ``errors`` raise ``TokensoftGraphQLError`` with each error's message and path.
``tca_gate.tokensoft.examples`` has documents for whitelisting an investor for an
ERC-1404 asset and for current and historical prices; ``whitelist_user(email, address,
kyc)`` sends the SDK's own whitelisting mutation, with literal, escaped arguments.

Servers verify with ``verify_tokensoft_request`` or ``TokensoftAuthMiddleware``;
``tca_gate.tokensoft.testing`` is an emulator for tests.
"""

from tca_gate.extras import require_extra

require_extra("tokensoft", "httpx2", "stamina", needed_by="tca_gate.tokensoft")

from tca_gate.errors import GraphQLProblem, TokensoftGraphQLError, TokensoftSignatureError
from tca_gate.public import publish
from tca_gate.signing.tokensoft import (
    DEFAULT_WINDOW,
    TokensoftAuthMiddleware,
    TokensoftSignedRequest,
    graphql_body,
    server_time_ms,
    tokensoft_signature,
    verify_tokensoft_request,
)
from tca_gate.signing.tokensoft.auth import DEFAULT_TIME_CACHE, TokensoftAuth

from ._client import AsyncTokensoftClient, TokensoftClient
from ._models import CurrentUser, KycAddress, KycInfo

__all__ = [
    "DEFAULT_TIME_CACHE",
    "DEFAULT_WINDOW",
    "AsyncTokensoftClient",
    "CurrentUser",
    "GraphQLProblem",
    "KycAddress",
    "KycInfo",
    "TokensoftAuth",
    "TokensoftAuthMiddleware",
    "TokensoftClient",
    "TokensoftGraphQLError",
    "TokensoftSignatureError",
    "TokensoftSignedRequest",
    "graphql_body",
    "server_time_ms",
    "tokensoft_signature",
    "verify_tokensoft_request",
]

publish(__name__, globals(), __all__)
