"""TDX-style HMAC (``tdx`` extra): ``TDXV1-HMAC-SHA256`` signing, a generic signed client,
and the server-side verifier (a function and pure ASGI middleware).

>>> from tca_gate.tdx import TDXAuth, TDXClient
>>> auth = TDXAuth("fcebf5ef5-69d3-4a37-b1d3-69fd462cf54c", "0c3c11e3e74de307866a2d67a9c71f97")
>>> auth, TDXAuth.bearer("eyJhbGciOi...")
(TDXAuth(api_key='fcebf5ef5-69d3-4a37-b1d3-69fd462cf54c'), TDXBearerAuth(token=...))
"""

from ._auth import TDXAuth, TDXBearerAuth
from ._client import JSON, AsyncTDXClient, TDXClient, read_tdx_answer
from ._middleware import TDXAuthMiddleware, TDXBearerRequest
from ._scheme import (
    SCHEME,
    WINDOW,
    hash_to_sign,
    sign_tdx_request,
    string_to_hash,
    tdx_signature,
)
from ._verify import (
    RefusalReason,
    TDXCredentials,
    TDXSignatureError,
    TDXSignedRequest,
    check_tdx_signature,
    parse_authorization,
    verify_tdx_request,
)

__all__ = [
    "JSON",
    "SCHEME",
    "WINDOW",
    "AsyncTDXClient",
    "RefusalReason",
    "TDXAuth",
    "TDXAuthMiddleware",
    "TDXBearerAuth",
    "TDXBearerRequest",
    "TDXClient",
    "TDXCredentials",
    "TDXSignatureError",
    "TDXSignedRequest",
    "check_tdx_signature",
    "hash_to_sign",
    "parse_authorization",
    "read_tdx_answer",
    "sign_tdx_request",
    "string_to_hash",
    "tdx_signature",
    "verify_tdx_request",
]
