"""The Tokens.net signature: uppercase hex HMAC-SHA256(secret, str(nonce) + api_key)."""

from __future__ import annotations

import hashlib
import hmac

KEY_HEADER = "key"
NONCE_HEADER = "nonce"
SIGNATURE_HEADER = "signature"


def tokensnet_signature(secret: str, nonce: int, api_key: str) -> str:
    """The ``signature`` header for ``nonce`` and ``api_key`` (the document's example).

    >>> key = secret = "0123456789abcdef0123456789abcdef"
    >>> tokensnet_signature(secret, 0, key)[:16]
    '7677C1058561C94E'
    """
    message = f"{nonce}{api_key}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().upper()


def signing_headers(api_key: str, secret: str, nonce: int) -> dict[str, str]:
    """The three headers of a signed call."""
    return {
        KEY_HEADER: api_key,
        NONCE_HEADER: str(nonce),
        SIGNATURE_HEADER: tokensnet_signature(secret, nonce, api_key),
    }


#: The documented reason of each code (``{parameter}`` and ``{error}`` filled in by 150).
REASONS: dict[int, str] = {
    100: "API Key is missing",
    101: "Nonce is missing",
    102: "Signature is missing",
    110: "Nonce has to be integer",
    111: "Provided nonce is less or equal to the last nonce",
    120: "Invalid API key",
    121: "Signature is invalid",
    130: "Invalid trading pair",
    131: "Invalid order id",
    140: "Only opened orders can be canceled",
    150: "Parameter {parameter} is invalid with error: {error}",
    160: "Invalid currency code",
    429: "API rate limit exceeded",
}
