"""Checking a request's ``TDXV1-HMAC-SHA256`` auth, with a precise reason for each refusal."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tca_gate.errors import AmbiguousRequestError, TDXSignatureError, shorten
from tca_gate.signing.replay import ReplayStore, claim_now

from ._scheme import FIELDS, SCHEME, WINDOW, decode_secret, hash_to_sign, string_to_hash
from ._scheme import tdx_signature as _signature

_UUID4 = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)
_MILLISECONDS = re.compile(r"[0-9]{1,15}")
#: The headers the signature covers, which must each come once (as written in messages).
_SIGNED_HEADERS = {"host": "Host", "content-type": "Content-Type"}


@dataclass(frozen=True, slots=True)
class TDXCredentials:
    """The four fields of a ``TDXV1-HMAC-SHA256`` header, as written (checked for form)."""

    api_key: str
    nonce: str
    timestamp: int
    signature: str


@dataclass(frozen=True, slots=True)
class TDXSignedRequest:
    """A verified request: who signed it, with which nonce, at which time (UTC ms)."""

    api_key: str
    nonce: str
    timestamp: int

    @property
    def replay_key(self) -> str:
        """What the nonce store records: the nonce, per API key."""
        return f"tdx:{self.api_key}:{self.nonce.lower()}"


def parse_authorization(value: str | None) -> TDXCredentials:
    """The fields of an ``Authorization`` header, or the ``TDXSignatureError`` saying what
    is wrong with it.

    >>> parse_authorization("TDXV1-HMAC-SHA256 ApiKey=k "
    ...     "Nonce=f93c979d-b00d-43a9-9b9c-fd4cd9547fa6 Timestamp=1567755304968 Signature=c2ln")
    ... # doctest: +NORMALIZE_WHITESPACE
    TDXCredentials(api_key='k', nonce='f93c979d-b00d-43a9-9b9c-fd4cd9547fa6',
                   timestamp=1567755304968, signature='c2ln')
    """
    header = value or ""
    words = header.split()
    if not words:
        raise TDXSignatureError("missing-authorization", "the Authorization header is missing")
    if words[0] != SCHEME:
        raise TDXSignatureError(
            "unsupported-scheme",
            f"the Authorization scheme {shorten(words[0])!r} is not {SCHEME}",
        )
    if "," in header:
        raise TDXSignatureError(
            "malformed-authorization",
            "the Authorization fields are separated by spaces, not commas",
        )
    fields: dict[str, str] = {}
    for word in words[1:]:
        name, equals, text = word.partition("=")
        if name not in FIELDS or not equals or not text or name in fields:
            raise TDXSignatureError(
                "malformed-authorization",
                f"the Authorization field {shorten(name)!r} is not one of ApiKey=, Nonce=, "
                "Timestamp=, Signature= (each once, with a value)",
            )
        fields[name] = text
    missing = [name for name in FIELDS if name not in fields]
    if missing:
        raise TDXSignatureError(
            "malformed-authorization", f"the Authorization header lacks {', '.join(missing)}"
        )
    if not _UUID4.fullmatch(fields["Nonce"]):
        raise TDXSignatureError(
            "malformed-nonce", f"the nonce {shorten(fields['Nonce'])!r} is not a UUIDv4"
        )
    if not _MILLISECONDS.fullmatch(fields["Timestamp"]):
        raise TDXSignatureError(
            "malformed-timestamp",
            f"the timestamp {shorten(fields['Timestamp'])!r} is not UTC milliseconds",
        )
    return TDXCredentials(
        fields["ApiKey"], fields["Nonce"], int(fields["Timestamp"]), fields["Signature"]
    )


def check_tdx_signature(
    method: str,
    path: str | bytes,
    query: str | bytes,
    headers: Mapping[str, str],
    body: bytes = b"",
    *,
    secret_for: Callable[[str], str | None] | Mapping[str, str],
    host: str | None = None,
    now: float | None = None,
    window: float = WINDOW,
) -> TDXSignedRequest:
    """Everything ``verify_tdx_request`` checks except the nonce's single use."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():  # a Starlette ``Headers`` repeats a repeated name
        key = name.lower()
        if key in lowered and key in _SIGNED_HEADERS:
            raise TDXSignatureError(
                "ambiguous-request",
                f"the request has more than one {_SIGNED_HEADERS[key]} header: the app could "
                "read one that was not signed",
            )
        lowered[key] = value
    credentials = parse_authorization(lowered.get("authorization"))
    api_key = credentials.api_key
    try:
        text = string_to_hash(
            api_key=api_key,
            nonce=credentials.nonce,
            timestamp=credentials.timestamp,
            method=method,
            host=lowered.get("host", "") if host is None else host,
            path=path,
            query=query,
            content_type=lowered.get("content-type", ""),
            body=body,
        )
    except AmbiguousRequestError as error:
        raise TDXSignatureError("ambiguous-request", str(error)) from None
    secret = secret_for.get(api_key) if isinstance(secret_for, Mapping) else secret_for(api_key)
    if secret is None:
        raise TDXSignatureError("unknown-api-key", f"unknown API key {shorten(api_key)!r}")
    clock = round((time.time() if now is None else now) * 1000)
    reach = round(window * 1000)
    if credentials.timestamp < clock - reach:
        raise TDXSignatureError("stale-timestamp", f"the timestamp is more than {window:g} s old")
    if credentials.timestamp > clock + reach:
        raise TDXSignatureError(
            "future-timestamp", f"the timestamp is more than {window:g} s ahead"
        )
    expected = _signature(hash_to_sign(text), decode_secret(secret))
    if not hmac.compare_digest(expected.encode(), credentials.signature.encode("utf-8", "replace")):
        raise TDXSignatureError("bad-signature", "the signature does not match the request")
    return TDXSignedRequest(api_key, credentials.nonce, credentials.timestamp)


def nonce_reused() -> TDXSignatureError:
    """The refusal of a nonce already used within the window."""
    return TDXSignatureError("replayed-nonce", "this nonce was already used")


def verify_tdx_request(
    method: str,
    path: str | bytes,
    query: str | bytes,
    headers: Mapping[str, str],
    body: bytes = b"",
    *,
    secret_for: Callable[[str], str | None] | Mapping[str, str],
    nonce_store: ReplayStore,
    host: str | None = None,
    now: float | None = None,
    window: float = WINDOW,
) -> TDXSignedRequest:
    """Check a request's TDX auth; raise ``TDXSignatureError`` naming the reason.

    ``path`` and ``query`` are as sent (percent-escapes kept, no ``?``), ``body`` the
    bytes received; the host and content type come from ``headers`` (pass ``host`` to
    use the public one behind a proxy). Parts the joined, signed text could not tell
    from their neighbours (a query that reads as a content type, a content type that is
    not a media type or comes without a body, a body without one) are refused as
    ``ambiguous-request``, as is a repeated ``Host`` or ``Content-Type`` (a Starlette
    ``Headers`` keeps each). ``secret_for`` maps an API key to its hex secret. The
    timestamp must be within ``window`` seconds of ``now``, the signature must match
    (compared in constant time), and then the nonce is claimed in ``nonce_store`` for
    twice the window: a nonce seen before is refused, a store that fails raises
    ``ReplayStoreUnavailableError``.
    """
    signed = check_tdx_signature(
        method,
        path,
        query,
        headers,
        body,
        secret_for=secret_for,
        host=host,
        now=now,
        window=window,
    )
    if not claim_now(nonce_store, signed.replay_key, 2 * window):
        raise nonce_reused()
    return signed
