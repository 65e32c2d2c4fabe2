"""``verify_tokensoft_request``: the server side of Tokensoft's signature, with reasons."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tca_gate.errors import TokensoftSignatureError

from ._scheme import KEY_HEADER, SIGN_HEADER, TIMESTAMP_HEADER, tokensoft_signature

#: How far (seconds) a request's timestamp may be from the server's time.
DEFAULT_WINDOW = 30.0


_MILLISECONDS = re.compile(r"[0-9]{1,20}")


@dataclass(frozen=True, slots=True)
class TokensoftSignedRequest:
    """A request whose signature held: the API key it was signed with and its timestamp."""

    access_key: str
    timestamp: int


def server_time_ms(clock: Callable[[], int] = time.time_ns) -> int:
    """The server's time as ``{ time }`` answers it: epoch milliseconds (from nanoseconds)."""
    return clock() // 1_000_000


_AUTH_HEADERS = frozenset({KEY_HEADER, TIMESTAMP_HEADER, SIGN_HEADER})


def verify_tokensoft_request(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret_for: Callable[[str], str | None] | Mapping[str, str],
    now_ms: int | None = None,
    window: float = DEFAULT_WINDOW,
) -> TokensoftSignedRequest:
    """Check ``access-key``, ``access-timestamp`` and ``access-sign`` over ``body``.

    ``secret_for`` maps an API key to its secret (``None``: unknown); the timestamp must
    be epoch milliseconds within ``window`` seconds of ``now_ms`` (the server's time).
    Raises ``TokensoftSignatureError`` with the first reason found, in this order:
    missing headers, unknown key, malformed or stale timestamp, bad signature.

    >>> body = b'{"query":"{ currentUser { id email } }"}'
    >>> sign = tokensoft_signature("s3cret", "1700000000000", body)
    >>> headers = {"access-key": "k1", "access-timestamp": "1700000000000", "access-sign": sign}
    >>> verify_tokensoft_request(headers, body, secret_for={"k1": "s3cret"}, now_ms=1700000004000)
    TokensoftSignedRequest(access_key='k1', timestamp=1700000000000)
    """
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in lowered and name.lower() in _AUTH_HEADERS:
            raise TokensoftSignatureError("malformed-header", f"the {name} header is repeated")
        lowered[name.lower()] = value
    key = lowered.get(KEY_HEADER, "")
    stamp = lowered.get(TIMESTAMP_HEADER, "")
    given = lowered.get(SIGN_HEADER, "")
    if not key:
        raise TokensoftSignatureError("missing-key", f"the {KEY_HEADER} header is missing")
    if not stamp:
        raise TokensoftSignatureError(
            "missing-timestamp", f"the {TIMESTAMP_HEADER} header is missing"
        )
    if not given:
        raise TokensoftSignatureError("missing-signature", f"the {SIGN_HEADER} header is missing")
    secret = secret_for.get(key) if isinstance(secret_for, Mapping) else secret_for(key)
    if not secret:
        raise TokensoftSignatureError("unknown-key", "the API key is not known")
    if not _MILLISECONDS.fullmatch(stamp):
        raise TokensoftSignatureError(
            "malformed-timestamp", f"{TIMESTAMP_HEADER} must be epoch milliseconds (digits)"
        )
    timestamp = int(stamp)
    now = server_time_ms() if now_ms is None else now_ms
    if abs(now - timestamp) > window * 1000:
        raise TokensoftSignatureError(
            "stale-timestamp",
            f"{TIMESTAMP_HEADER} is more than {window:g} s from the server's time; "
            "ask { time } again",
        )
    expected = tokensoft_signature(secret, stamp, body)
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace")):
        raise TokensoftSignatureError(
            "bad-signature", f"{SIGN_HEADER} does not match the timestamp and body"
        )
    return TokensoftSignedRequest(key, timestamp)
