"""Tokens.net signing: the scheme (``_scheme``: the signature and the error codes), nonce
sources (``_nonces``), its ``httpx2.Auth`` (``auth``, a public
submodule: it needs httpx2, which the core does not), its verifier (``_verify``) and its
middleware (``_middleware``)."""

from __future__ import annotations

from tca_gate.public import publish

from ._middleware import TokensNetAuthMiddleware, error_body, send_error
from ._nonces import FileNonces, MemoryNonces, NonceSource, shared_nonces
from ._scheme import (
    KEY_HEADER,
    NONCE_HEADER,
    REASONS,
    SIGNATURE_HEADER,
    signing_headers,
    tokensnet_signature,
)
from ._verify import NonceLedger, VerifiedRequest, verify_tokensnet_request

__all__ = [
    "KEY_HEADER",
    "NONCE_HEADER",
    "REASONS",
    "SIGNATURE_HEADER",
    "FileNonces",
    "MemoryNonces",
    "NonceLedger",
    "NonceSource",
    "TokensNetAuthMiddleware",
    "VerifiedRequest",
    "error_body",
    "send_error",
    "shared_nonces",
    "signing_headers",
    "tokensnet_signature",
    "verify_tokensnet_request",
]

publish(__name__, globals(), __all__)
