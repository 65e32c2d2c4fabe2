"""TDX-style HMAC (``pip install 'tca-gate[tdx]'``): ``TDXV1-HMAC-SHA256`` signing, a
generic signed client, and the server-side verifier (a function and pure ASGI middleware).

The scheme's weakness: the signed text joins the request's parts with spaces and leaves
empty ones out, marking no boundaries, so one part's text can pass for another's (a
signed ``GET /orders?limit=1`` is the same text as ``GET /orders`` with
``Content-Type: limit=1``). So the verifier refuses, as ``ambiguous-request``, any
request whose parts could slide into their neighbours (a query that reads as a content
type, a content type that is not a strict media type or comes without a body, a body
without one, whitespace in the path, query or host, a repeated Host or Content-Type),
and the signer will not sign one (``AmbiguousRequestError``). The signature covers no
other header, and not a path's trailing slash (``/orders/`` and ``/orders`` sign alike).

>>> from tca_gate.tdx import TDXAuth, TDXClient
>>> auth = TDXAuth("fcebf5ef5-69d3-4a37-b1d3-69fd462cf54c", "0c3c11e3e74de307866a2d67a9c71f97")
>>> auth, TDXAuth.bearer("eyJhbGciOi...")
(TDXAuth(api_key='fcebf5ef5-69d3-4a37-b1d3-69fd462cf54c'), TDXBearerAuth(token=...))
"""

from tca_gate.extras import require_extra

require_extra("tdx", "httpx2", "stamina", needed_by="tca_gate.tdx")

from tca_gate.errors import AmbiguousRequestError, TDXSignatureError
from tca_gate.errors import TDXRefusalReason as RefusalReason
from tca_gate.public import publish
from tca_gate.signing.tdx import (
    SCHEME,
    WINDOW,
    TDXAuthMiddleware,
    TDXBearerRequest,
    TDXCredentials,
    TDXSignedRequest,
    check_tdx_signature,
    hash_to_sign,
    parse_authorization,
    sign_tdx_request,
    string_to_hash,
    tdx_signature,
    verify_tdx_request,
)
from tca_gate.signing.tdx.auth import TDXAuth, TDXBearerAuth

from ._client import JSON, AsyncTDXClient, TDXClient, read_tdx_answer

__all__ = [
    "JSON",
    "SCHEME",
    "WINDOW",
    "AmbiguousRequestError",
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

publish(__name__, globals(), __all__)
