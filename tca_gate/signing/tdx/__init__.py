"""``TDXV1-HMAC-SHA256``: the scheme's pure functions (``_scheme``), its ``httpx2.Auth``
(``auth``, needing httpx2, so not imported here), its verifier (``_verify``) and its
middleware (``_middleware``)."""

from __future__ import annotations

from tca_gate.public import publish

from ._middleware import TDXAuthMiddleware, TDXBearerRequest
from ._scheme import SCHEME, WINDOW, hash_to_sign, sign_tdx_request, string_to_hash, tdx_signature
from ._verify import (
    TDXCredentials,
    TDXSignedRequest,
    check_tdx_signature,
    nonce_reused,
    parse_authorization,
    verify_tdx_request,
)

__all__ = [
    "SCHEME",
    "WINDOW",
    "TDXAuthMiddleware",
    "TDXBearerRequest",
    "TDXCredentials",
    "TDXSignedRequest",
    "check_tdx_signature",
    "hash_to_sign",
    "nonce_reused",
    "parse_authorization",
    "sign_tdx_request",
    "string_to_hash",
    "tdx_signature",
    "verify_tdx_request",
]

publish(__name__, globals(), __all__)
