"""Tokenly HMAC auth: how Tokenpass and Token Delivery API calls are signed and checked.

Every call carries three headers::

    X-Tokenly-Auth-Api-Token   the API token (the client id)
    X-Tokenly-Auth-Nonce       the current unix time, in whole seconds
    X-Tokenly-Auth-Signature   base64(HMAC-SHA256(secret, message))

with ``message = METHOD \\n URL \\n PARAMS \\n API_TOKEN \\n NONCE``, where URL has no
query string (and a port only when it is not the scheme's default) and PARAMS is
the parameters as compact JSON (``{}`` when there are none). Our signer signs a GET
over ``{}`` (today's validator); the verifier also accepts what Tokenly's official
signers send: a GET over its query, lists as PHP's ``JSON_FORCE_OBJECT`` writes them
(``signed_params`` lists every form).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tca_gate.errors import TokenlySignatureError, shorten
from tca_gate.signing.replay import ReplayStore, claim_now
from tca_gate.wire.php import MAX_INPUT_VARS, php_json_encode, php_parse_str, php_urldecode
from tca_gate.wire.urls import signing_url

API_TOKEN_HEADER = "X-Tokenly-Auth-Api-Token"  # noqa: S105 (a header's name)
NONCE_HEADER = "X-Tokenly-Auth-Nonce"
SIGNATURE_HEADER = "X-Tokenly-Auth-Signature"

#: How far a nonce may be from the verifier's clock, in seconds, by default.
DEFAULT_WINDOW = 300


def params_json(params: Mapping[str, object] | None) -> str:
    """The parameters as signed: compact JSON, slashes as they are, ``{}`` when empty."""
    if not params:
        return "{}"
    return json.dumps(params, separators=(",", ":"), ensure_ascii=True)


def tokenly_message(
    method: str, url: str, params: Mapping[str, object] | None, api_token: str, nonce: int | str
) -> str:
    """The text that is signed. GET requests always sign ``{}`` (query strings are not covered)."""
    method = method.upper()
    signed = "{}" if method == "GET" else params_json(params)
    return f"{method}\n{signing_url(url)}\n{signed}\n{api_token}\n{nonce}"


def tokenly_signature(message: str, secret: str) -> str:
    """base64(HMAC-SHA256(secret, message))."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_tokenly_request(
    method: str,
    url: str,
    params: Mapping[str, object] | None,
    api_token: str,
    secret: str,
    *,
    nonce: int | None = None,
) -> dict[str, str]:
    """The three auth headers for one request (``nonce`` defaults to the current second).

    >>> sign_tokenly_request("GET", "https://www.example.com/api/v1/mystuff", None,
    ...     "TWKTkwIQDTvirh6D", "Kun2M2UladalYAeUvXyiKWhFuwrsmSreM841K45O", nonce=1457530047)
    ... # doctest: +NORMALIZE_WHITESPACE
    {'X-Tokenly-Auth-Api-Token': 'TWKTkwIQDTvirh6D', 'X-Tokenly-Auth-Nonce': '1457530047',
     'X-Tokenly-Auth-Signature': 'hZ6SDgcZzo5AYrS9yopEQo068ax0NojG/CfXWG+RJEA='}
    """
    nonce = int(time.time()) if nonce is None else nonce
    message = tokenly_message(method, url, params, api_token, nonce)
    return {
        API_TOKEN_HEADER: api_token,
        NONCE_HEADER: str(nonce),
        SIGNATURE_HEADER: tokenly_signature(message, secret),
    }


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a verified request was signed with."""

    api_token: str
    nonce: int
    signature: str

    @property
    def replay_key(self) -> str:
        """Identifies this exact signed request (two requests in one second differ)."""
        return f"tokenly:{self.api_token}:{self.nonce}:{self.signature}"


def verify_tokenly_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    secret_for: Callable[[str], str | None] | Mapping[str, str],
    params: Mapping[str, object] | None = None,
    body: bytes | None = None,
    query: str | bytes | None = None,
    now: float | None = None,
    window: float = DEFAULT_WINDOW,
    replay_store: ReplayStore | None = None,
) -> SignedRequest:
    """Check a request's Tokenly HMAC auth; raise ``TokenlySignatureError`` naming the reason.

    ``params`` are the parsed body parameters of a non-GET request; ``body`` (the
    raw text as sent) is also accepted as what was signed, as the service's own
    examples sign it. The signature is compared in constant time, and the nonce
    must be within ``window`` seconds of ``now``. With a ``replay_store`` the request is
    claimed in it: a replay is refused, a store that fails raises
    ``ReplayStoreUnavailableError``.
    """
    signed = check_tokenly_signature(
        method,
        url,
        headers,
        secret_for=secret_for,
        params=params,
        body=body,
        query=query,
        now=now,
        window=window,
    )
    if replay_store is not None and not claim_now(replay_store, signed.replay_key, 2 * window):
        raise replayed()
    return signed


def replayed() -> TokenlySignatureError:
    """The refusal of a signed request seen before."""
    return TokenlySignatureError("replayed-request", "this signed request was already used")


def check_tokenly_signature(
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    secret_for: Callable[[str], str | None] | Mapping[str, str],
    params: Mapping[str, object] | None = None,
    body: bytes | None = None,
    query: str | bytes | None = None,
    now: float | None = None,
    window: float = DEFAULT_WINDOW,
) -> SignedRequest:
    """Everything ``verify_tokenly_request`` checks except replays (for async replay stores)."""
    api_token, nonce, signature = _auth_headers(headers)
    secret = secret_for.get(api_token) if isinstance(secret_for, Mapping) else secret_for(api_token)
    if secret is None:
        raise TokenlySignatureError("unknown-token", f"unknown API token {shorten(api_token)!r}")
    clock = time.time() if now is None else now
    if nonce < clock - window:
        raise TokenlySignatureError("stale-nonce", f"the nonce is more than {window:g} s old")
    if nonce > clock + window:
        raise TokenlySignatureError("future-nonce", f"the nonce is more than {window:g} s ahead")
    method = method.upper()
    try:
        prefix = f"{method}\n{signing_url(url)}\n"
    except ValueError:  # a Host whose port is no port
        raise TokenlySignatureError(
            "malformed-header", "the request's host cannot be read as a URL's"
        ) from None
    suffix = f"\n{api_token}\n{nonce}"
    given = signature.encode()
    for signed in signed_params(method, headers, params=params, body=body, query=query):
        expected = tokenly_signature(prefix + signed + suffix, secret).encode()
        if hmac.compare_digest(expected, given):
            return SignedRequest(api_token, nonce, signature)
    raise TokenlySignatureError("bad-signature", "the signature does not match the request")


def signed_params(
    method: str,
    headers: Mapping[str, str],
    *,
    params: Mapping[str, object] | None = None,
    body: bytes | None = None,
    query: str | bytes | None = None,
) -> Iterator[str]:
    """Each PARAMS text a Tokenly signer may have signed for this request, likeliest first.

    A GET: ``{}`` (today's validator) or its query as PHP's ``parse_str`` reads it (the
    official signers and the validator until 2021). A bodiless DELETE with a query: the
    query's parameters. A body: the caller's ``params``, the body's text as sent, and
    its parameters (JSON, or form fields as PHP reads them) in both our compact JSON and
    PHP's ``JSON_FORCE_OBJECT`` form. Raises ``TokenlySignatureError`` for a body that
    is not UTF-8 (two bodies must never share a signature).
    """
    query_text = query.decode("utf-8", "surrogateescape") if isinstance(query, bytes) else query
    if method in ("GET", "HEAD") and body:  # signed over {} or its query: a body is unsigned
        raise TokenlySignatureError("malformed-body", f"a {method} request carries no body")
    if method == "GET":
        yield "{}"
        if query_text:
            yield from _php_form(query_text)
        return
    if not body:
        if method == "DELETE" and query_text:  # signed over its query, never over {}
            yield params_json(dict(parse_qsl(query_text, keep_blank_values=True)))
            yield from _php_form(query_text)
            if params:
                yield params_json(params)
            return
        yield params_json(params)
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise TokenlySignatureError("malformed-body", "the request body is not UTF-8") from None
    if text.startswith("\ufeff"):  # a JSON reader may skip it: the text signed would differ
        raise TokenlySignatureError("malformed-body", "the request body starts with a BOM")
    if params is not None:
        yield _safe(params_json, params)
    yield text
    media_type = _media_type(headers)
    if media_type == "application/x-www-form-urlencoded":
        yield params_json(dict(parse_qsl(text, keep_blank_values=True)))
        yield from _php_form(text)
        return
    try:
        document = json.loads(text)
    except RecursionError:
        raise TokenlySignatureError(
            "malformed-body", "the request body is nested too deep"
        ) from None
    except ValueError:
        document = _NOT_JSON
    if document is _NOT_JSON:
        if params is None and not media_type.startswith("multipart/"):
            yield "{}"  # no parameters an app could read in it: signed as none, as PHP does
        return
    if isinstance(document, dict) and params is None:
        yield _safe(params_json, document)
    yield _safe(php_json_encode, document)


_NOT_JSON = object()


def _safe(encode: Callable[[Any], str], value: object) -> str:
    """``encode(value)``, or ``""`` (which no signer signs) for a value it cannot write:
    nested past the limits, say, which must refuse the request rather than fail it."""
    try:
        return encode(value)
    except (ValueError, TypeError, RecursionError):
        return ""


#: A form or query key PHP reads exactly as written: a name with no space, dot or
#: bracket, then at most 64 ``[index]`` groups.
_PLAIN_KEY = re.compile(r"[^ .\[\]\x00][^ .\[\]\x00]*(?:\[[^\[\]\x00]*\]){0,64}")


def _php_form(text: str) -> Iterator[str]:
    """Form or query text as PHP reads and Tokenly's signers encode it, only when PHP's
    reading loses nothing an app would see (no NUL, at most ``MAX_INPUT_VARS`` parts,
    no key PHP renames, drops or cuts) and the text is UTF-8 (else ``json_encode``
    fails and nothing was signed over it)."""
    parts = [part for part in text.split("&") if part]
    if len(parts) > MAX_INPUT_VARS:
        return
    plain: set[str] = set()
    arrays: set[str] = set()
    for part in parts:
        raw_key, _, raw_value = part.partition("=")
        key = php_urldecode(raw_key)
        if not _PLAIN_KEY.fullmatch(key) or "\0" in php_urldecode(raw_value):
            return
        name, bracket, _ = key.partition("[")
        (arrays if bracket else plain).add(name)
    if plain & arrays:  # PHP keeps one of a=1&a[x]=2; the app sees both
        return
    parsed = php_parse_str(text)
    try:
        encoded = php_json_encode(parsed) if parsed else "{}"
        encoded.encode("utf-8")  # lone surrogates stand for bytes that are not UTF-8
    except (ValueError, UnicodeEncodeError):
        return
    yield encoded


def _media_type(headers: Mapping[str, str]) -> str:
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == "content-type" and isinstance(value, str):
            return value.split(";")[0].strip().lower()
    return ""


def _auth_headers(headers: Mapping[str, str]) -> tuple[str, int, str]:
    """The API token, nonce and signature headers, each present, text and well formed."""
    lowered: dict[str, object] = {}
    wanted = {name.lower() for name in (API_TOKEN_HEADER, NONCE_HEADER, SIGNATURE_HEADER)}
    for key, value in headers.items():
        if isinstance(key, str):
            name = key.lower()
            if name in wanted and name in lowered:  # the app might read the other copy
                raise TokenlySignatureError("malformed-header", f"the {key} header is repeated")
            lowered[name] = value
    values = []
    for name in (API_TOKEN_HEADER, NONCE_HEADER, SIGNATURE_HEADER):
        given = lowered.get(name.lower(), "")
        if not isinstance(given, str):
            raise TokenlySignatureError(
                "malformed-header", f"the {name} header is a {type(given).__name__}, not text"
            )
        value = given.strip()
        if not value:
            raise TokenlySignatureError("missing-header", f"the {name} header is missing")
        values.append(value)
    api_token, nonce_text, signature = values
    if not nonce_text.isascii() or not nonce_text.isdigit() or len(nonce_text) > 12:
        raise TokenlySignatureError(
            "malformed-nonce", f"the nonce {shorten(nonce_text)!r} is not a unix time in seconds"
        )
    return api_token, int(nonce_text), signature
