"""The ``TDXV1-HMAC-SHA256`` scheme (seed 004): what is hashed, signed and sent.

One header carries everything::

    Authorization: TDXV1-HMAC-SHA256 ApiKey=<key> Nonce=<uuid4> Timestamp=<utc ms> Signature=<b64>

``string_to_hash`` is the non-empty items of ``[api_key, nonce, timestamp, METHOD,
host (lowercase, with any port), path (leading slash, no trailing slash), query (as
sent), content_type, body]`` joined by single spaces; ``hash_to_sign`` is
base64(sha256(string_to_hash)); the signature is base64(HMAC-SHA256(key =
hex_decode(api_secret), hash_to_sign)).

Nothing marks where one part ends, so ``string_to_hash`` refuses parts that could be
read as their neighbours (``AmbiguousRequestError``): both the signer and the verifier
build the text through it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Mapping
from urllib.parse import urlsplit

from tca_gate.errors import AmbiguousRequestError, InvalidArgumentError, shorten

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


#: RFC 9110 ``token``: a media type's type, subtype and parameter names and values.
_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
#: RFC 9110 ``quoted-string``, less the space (the scheme's separator).
_QUOTED = rb'"(?:[\t\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x21-\x7e\x80-\xff])*"'
#: RFC 9110 ``media-type``, with whitespace only after a ``;`` and no empty parameter:
#: so no prefix of a content type ending at a space is one too.
_MEDIA_TYPE = rb"%s/%s(?:;[ \t]*%s=(?:%s|%s))*" % (_TOKEN, _TOKEN, _TOKEN, _TOKEN, _QUOTED)
_CONTENT_TYPE = re.compile(_MEDIA_TYPE)
#: What a content type's first word (up to a space) can be; a query must not be one.
_CONTENT_TYPE_START = re.compile(_MEDIA_TYPE + rb"(?:;[\t]*)?")
_WORD = re.compile(rb"\S+")


def _text(part: str | bytes) -> bytes:
    return part.encode() if isinstance(part, str) else part


def _check_parts(
    words: Mapping[str, bytes], path: bytes, query: bytes, content_type: bytes, body: bytes
) -> None:
    """Refuse parts that, joined by spaces, could be read as other parts: the scheme marks
    no boundaries, so each part must keep to its own syntax. ``words`` (the API key,
    nonce, timestamp, method and host) must each be one word; the path and query hold no
    whitespace, nor does the query read as a content type; the content type is a media
    type (``type/subtype``, then ``;name=value`` parameters, spaces only after a ``;``),
    sent with a body and only with one. The path and query are never echoed (they may
    carry a token)."""
    for name, word in words.items():
        if not _WORD.fullmatch(word):
            raise AmbiguousRequestError(f"the {name} must be one word: not empty, no whitespace")
    for name, part in (("path", path), ("query", query)):
        if part and not _WORD.fullmatch(part):
            raise AmbiguousRequestError(f"the {name} holds whitespace")
    if _CONTENT_TYPE_START.fullmatch(query):
        raise AmbiguousRequestError("the query reads as the start of a Content-Type (type/subtype)")
    if content_type and not _CONTENT_TYPE.fullmatch(content_type):
        shown = repr(shorten(content_type.decode("utf-8", "replace")))
        raise AmbiguousRequestError(
            f"the Content-Type {shown} is not a media type: type/subtype, then ;name=value "
            "parameters, with spaces only after a ;"
        )
    if content_type and not body:
        raise AmbiguousRequestError("a Content-Type on a request without a body")
    if body and not content_type:
        raise AmbiguousRequestError("a request body without a Content-Type")


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
    """The non-empty parts, joined by single spaces (text as UTF-8, the body as is);
    ``AmbiguousRequestError`` for parts that could be read as others (``_check_parts``).

    >>> string_to_hash(api_key="k", nonce="n", timestamp=1, method="get",
    ...                host="API.example.com:8443", path="/v1/orders/", query="")
    b'k n 1 GET api.example.com:8443 /v1/orders'
    """
    words = {
        "API key": _text(api_key),
        "nonce": _text(nonce),
        "timestamp": _text(str(timestamp)),
        "method": _text(method.upper()),
        "Host": _text(host.lower()),
    }
    query, content_type = _text(query), _text(content_type)
    _check_parts(words, _text(path), query, content_type, body)
    parts = [*words.values(), signed_path(path), query, content_type, body]
    return b" ".join(part for part in parts if part)


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
