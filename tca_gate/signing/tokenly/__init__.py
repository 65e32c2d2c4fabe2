"""Tokenly HMAC (Tokenpass, Token Delivery, balance webhooks): the scheme's pure functions
(``_scheme``), its ``httpx2.Auth`` (``auth``, a public submodule: it needs httpx2, which the
core does not) and its verifying middleware (``_middleware``)."""

from __future__ import annotations

from tca_gate.public import publish

from ._middleware import TokenlyAuthMiddleware
from ._scheme import (
    API_TOKEN_HEADER,
    DEFAULT_WINDOW,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SignedRequest,
    check_tokenly_signature,
    params_json,
    replayed,
    sign_tokenly_request,
    signed_params,
    tokenly_message,
    tokenly_signature,
    verify_tokenly_request,
)

__all__ = [
    "API_TOKEN_HEADER",
    "DEFAULT_WINDOW",
    "NONCE_HEADER",
    "SIGNATURE_HEADER",
    "SignedRequest",
    "TokenlyAuthMiddleware",
    "check_tokenly_signature",
    "params_json",
    "replayed",
    "sign_tokenly_request",
    "signed_params",
    "tokenly_message",
    "tokenly_signature",
    "verify_tokenly_request",
]

publish(__name__, globals(), __all__)
