"""``TokenlyAuth``: an ``httpx2.Auth`` that signs every request attempt with Tokenly HMAC."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Mapping
from urllib.parse import parse_qsl

import httpx2

from tca_gate.errors import InvalidArgumentError

from ._scheme import params_json, sign_tokenly_request

#: Methods signed over ``{}`` whatever their query (validators do so for GET).
_UNSIGNED_QUERY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM = "application/x-www-form-urlencoded"
#: Where a request remembers the nonce it was last signed with.
NONCE_EXTENSION = "tca_gate.tokenly_nonce"


class TokenlyAuth(httpx2.Auth):
    """Tokenly HMAC with ``api_token`` and ``secret``, computed afresh for each attempt.

    GET is signed over ``{}``; a bodiless DELETE over its query parameters as a JSON
    object of the strings sent; a body as its JSON object (or form fields), which must
    be compact JSON, the text ``params_json`` makes, so the signed text is the body sent.
    A retry of the same request in the same second is signed with the next second, so a
    replay store never refuses it.
    """

    requires_request_body = True

    def __init__(
        self, api_token: str, secret: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not api_token or not secret:
            raise InvalidArgumentError("TokenlyAuth needs a non-empty api_token and secret")
        self._api_token = api_token
        self._secret = secret
        self._clock = clock

    def __repr__(self) -> str:
        return f"TokenlyAuth(api_token={self._api_token!r})"

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        nonce = int(self._clock())
        previous = request.extensions.get(NONCE_EXTENSION)
        if isinstance(previous, int) and nonce <= previous:
            nonce = previous + 1
        request.extensions[NONCE_EXTENSION] = nonce
        headers = sign_tokenly_request(
            request.method,
            str(request.url),
            signed_params(request),
            self._api_token,
            self._secret,
            nonce=nonce,
        )
        request.headers.update(headers)
        yield request


def signed_params(request: httpx2.Request) -> Mapping[str, object] | None:
    """The parameters a request is signed over (services.md): none for GET, a bodiless
    DELETE's query parameters, else its body's JSON object or form fields."""
    method = request.method.upper()
    if method in _UNSIGNED_QUERY_METHODS:
        return None
    if not request.content:
        if method == "DELETE" and request.url.query:
            return dict(parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True))
        return None
    try:
        text = request.content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgumentError(
            f"Tokenly HMAC signs a {method} body as text, but this one is not UTF-8"
        ) from None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == _FORM:
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        params = json.loads(text)
    except (ValueError, RecursionError):
        params = None
    if not isinstance(params, dict) or params_json(params) != text:
        raise InvalidArgumentError(
            f"Tokenly HMAC signs a {method} body as compact JSON of an object; "
            "encode it with tca_gate.signing.tokenly._scheme.params_json"
        )
    return params
