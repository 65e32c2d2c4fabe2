"""The ``TDXV1-HMAC-SHA256`` scheme (seed 004): what is hashed, signed and sent.

One header carries everything::

    Authorization: TDXV1-HMAC-SHA256 ApiKey=<key> Nonce=<uuid4> Timestamp=<utc ms> Signature=<b64>

``string_to_hash`` is the non-empty items of ``[api_key, nonce, timestamp, METHOD,
host (lowercase, with any port), path (leading slash, no trailing slash), query (as
sent), content_type, body]`` joined by single spaces; ``hash_to_sign`` is
base64(sha256(string_to_hash)); the signature is base64(HMAC-SHA256(key =
hex_decode(api_secret), hash_to_sign)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
from urllib.parse import urlsplit

from tca_gate._errors import InvalidArgumentError

#: The scheme name that opens the ``Authorization`` header.
SCHEME = "TDXV1-HMAC-SHA256"

#: How far a timestamp may be from the server's clock, and how long a nonce is single use.
WINDOW = 150

#: The header's fields, in the order they are written.
FIELDS = ("ApiKey", "Nonce", "Timestamp", "Signature")

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


def decode_secret(api_secret: str) -> bytes:
    """The HMAC key: ``api_secret`` hex-decoded (an even number of hex digits, nothing else).

    >>> decode_secret("0c3c11e3e74de307866a2d67a9c71f97").hex()
    '0c3c11e3e74de307866a2d67a9c71f97'
    """
    if not isinstance(api_secret, str) or not _HEX.fullmatch(api_secret):
        raise InvalidArgumentError(
            "the TDX api_secret must be hex (an even number of digits 0-9, a-f, nothing else)"
        )
    return bytes.fromhex(api_secret)


def signed_path(path: str | bytes) -> bytes:
    """The path as signed: as sent (percent-escapes kept), with a leading slash and no
    trailing slash; the root stays ``/``.

    >>> signed_path("/api/v1/orders/"), signed_path("api/v1/orders"), signed_path("/")
    (b'/api/v1/orders', b'/api/v1/orders', b'/')
    """
    raw = path.encode() if isinstance(path, str) else path
    trimmed = raw.rstrip(b"/")
    return trimmed if trimmed.startswith(b"/") else b"/" + trimmed


def string_to_hash(
    *,
    api_key: str,
    nonce: str,
    timestamp: int | str,
    method: str,
    host: str | bytes,
    path: str | bytes,
    query: str | bytes = b"",
    content_type: str | bytes = b"",
    body: bytes = b"",
) -> bytes:
    """The non-empty parts, joined by single spaces (text as UTF-8, the body as is).

    >>> string_to_hash(api_key="k", nonce="n", timestamp=1, method="get",
    ...                host="API.example.com:8443", path="/v1/orders/", query="")
    b'k n 1 GET api.example.com:8443 /v1/orders'
    """
    parts: list[str | bytes] = [
        api_key,
        nonce,
        str(timestamp),
        method.upper(),
        host.lower(),
        signed_path(path),
        query,
        content_type,
        body,
    ]
    return b" ".join(part.encode() if isinstance(part, str) else part for part in parts if part)


def hash_to_sign(text: bytes) -> str:
    """base64(sha256(string_to_hash))."""
    return base64.b64encode(hashlib.sha256(text).digest()).decode("ascii")


def tdx_signature(hashed: str, key: bytes) -> str:
    """base64(HMAC-SHA256(key, hash_to_sign)); ``key`` is the hex-decoded secret."""
    digest = hmac.new(key, hashed.encode("ascii"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def authorization(api_key: str, nonce: str, timestamp: int | str, signature: str) -> str:
    """The ``Authorization`` header's value."""
    return f"{SCHEME} ApiKey={api_key} Nonce={nonce} Timestamp={timestamp} Signature={signature}"


def new_nonce() -> str:
    """A fresh random UUIDv4, as text."""
    return str(uuid.uuid4())


def now_ms(clock: float | None = None) -> int:
    """UTC milliseconds since the epoch (of ``clock`` in seconds, or now)."""
    return int((time.time() if clock is None else clock) * 1000)


def sign_tdx_request(
    method: str,
    url: str,
    *,
    api_key: str,
    api_secret: str,
    content_type: str = "",
    body: bytes = b"",
    nonce: str | None = None,
    timestamp: int | None = None,
) -> str:
    """The ``Authorization`` value for one request to ``url`` (its host and port, path
    and query as they will be sent); a fresh nonce and the current time by default.

    >>> sign_tdx_request(
    ...     "GET", "https://api.example.com:8443/api/v1/orders?limit=100&sort=asc",
    ...     api_key="fcebf5ef5-69d3-4a37-b1d3-69fd462cf54c",
    ...     api_secret="0c3c11e3e74de307866a2d67a9c71f97",
    ...     nonce="f93c979d-b00d-43a9-9b9c-fd4cd9547fa6", timestamp=1567755304968,
    ... ).split()  # doctest: +NORMALIZE_WHITESPACE
    ['TDXV1-HMAC-SHA256', 'ApiKey=fcebf5ef5-69d3-4a37-b1d3-69fd462cf54c',
     'Nonce=f93c979d-b00d-43a9-9b9c-fd4cd9547fa6', 'Timestamp=1567755304968',
     'Signature=hDBKP5CFWFZGuyUH+s35F7n0j/EdhoruEYNAWkvKV2k=']
    """
    key = decode_secret(api_secret)
    parts = urlsplit(url)
    nonce = new_nonce() if nonce is None else nonce
    timestamp = now_ms() if timestamp is None else timestamp
    text = string_to_hash(
        api_key=api_key,
        nonce=nonce,
        timestamp=timestamp,
        method=method,
        host=parts.netloc.rpartition("@")[2],
        path=parts.path,
        query=parts.query,
        content_type=content_type,
        body=body,
    )
    return authorization(api_key, nonce, timestamp, tdx_signature(hash_to_sign(text), key))
