"""Where a call's user token travels: ``Authorization: Bearer`` or a parameter.

Tokenpass reads the user's OAuth token from either (official-clients.md). The header
keeps it out of URLs, access logs and httpx2's request log line, so it is the default;
``bearer=False`` sends the parameter, as the official PHP client has since 2020; and a
client sending the header falls back to the parameter, from then on, when a server
answers that the token is missing. Wherever the parameter ends up in a URL,
``hide_token_parameters`` keeps it out of httpx2's log records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import TypeVar

import httpx2

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import Call, refusal, text
from tca_gate.signing.tokenly.auth import NONCE_EXTENSION

T = TypeVar("T")

#: Where a header-form request keeps the builder of its parameter form, for the fallback.
FALLBACK_EXTENSION = "tca_gate.tokenpass.parameter_form"

#: The statuses of a refusal that may be for a missing token.
_REFUSED = frozenset({400, 401, 403, 422})
#: How a refusal names the user's token, and says it had none it could use.
_TOKEN_NAMES = ("oauth", "access token", "access_token")
_MISSING = ("missing", "required", "not provided", "invalid")
#: A token parameter's value in a logged URL (up to the next parameter or the URL's end).
_TOKEN_PARAMETER = re.compile(r"(?i)\b((?:oauth_token|access_token)=)[^&#\s\"'<>]+")
_HIDDEN = r"\1[hidden]"

logger = logging.getLogger("tca_gate.tokenpass")


@dataclass(frozen=True, slots=True)
class UserCall(Call[T]):
    """A call made with a user's token; ``name`` is the parameter the service reads it from.

    The token is in neither ``query`` nor ``json``: the client places it when it sends.
    """

    token: str = field(kw_only=True, repr=False)
    name: str = field(kw_only=True, default="oauth_token")


def user_token(name: str, value: object) -> str:
    """A user token: a non-empty string of visible ASCII, as an HTTP header carries it."""
    token = text(name, value)
    if not token.isascii() or not token.isprintable() or " " in token:
        raise InvalidArgumentError(f"{name} must be visible ASCII characters, without spaces")
    return token


def with_parameter(call: UserCall[T]) -> Call[T]:
    """``call`` with its token as a parameter: in its JSON body when it has one, else its query."""
    if call.json is not None:
        return replace(call, json={**call.json, call.name: call.token})
    return replace(call, query=[*call.query, (call.name, call.token)])


def token_missing(response: httpx2.Response) -> bool:
    """Whether an answer refuses a call for want of a user token where the server looked.

    A 400, 401, 403 or 422 naming the token as missing, required or invalid (Tokenpass
    answered a call without the parameter "Invalid user oauth token"), but not its scope
    (a refusal of the scope shows the token was read).
    """
    if response.status_code not in _REFUSED:
        return False
    error = refusal("Tokenpass", response)
    words = f"{error.field or ''} {error.message}".lower()
    return (
        any(name in words for name in _TOKEN_NAMES)
        and any(missing in words for missing in _MISSING)
        and "scope" not in words
    )


class UserTokenAuth(httpx2.Auth):
    """Signs a user call with ``signer`` (none for unsigned calls) and, when a server
    read no token from the header, sends the call again with the parameter.

    ``parameter_worked`` is called once such a retry was answered by a server that read
    the token (a success, or a refusal of something else than a missing token).
    A call's two forms share one nonce sequence, so neither repeats the other's signature.
    """

    requires_request_body = True
    requires_response_body = True

    def __init__(self, signer: httpx2.Auth | None, parameter_worked: Callable[[], None]) -> None:
        self._signer = signer
        self._parameter_worked = parameter_worked

    def auth_flow(
        self, request: httpx2.Request
    ) -> Generator[httpx2.Request, httpx2.Response, None]:
        response = yield self._signed(request)
        parameter_form = request.extensions.get(FALLBACK_EXTENSION)
        if parameter_form is None or not token_missing(response):
            return
        fallback: httpx2.Request = parameter_form()
        _share_nonce(request, fallback)
        answer = yield self._signed(fallback)
        _share_nonce(fallback, request)
        if _token_read(answer):
            self._parameter_worked()

    def _signed(self, request: httpx2.Request) -> httpx2.Request:
        """``request`` signed: the signer's flow signs it and yields it once."""
        if self._signer is None:
            return request
        return next(self._signer.auth_flow(request))


def _token_read(response: httpx2.Response) -> bool:
    """Whether an answer came from a server that read the call's token."""
    busy = response.status_code >= 500 or response.status_code == 429
    return not busy and not token_missing(response)


def _share_nonce(source: httpx2.Request, target: httpx2.Request) -> None:
    if NONCE_EXTENSION in source.extensions:
        target.extensions[NONCE_EXTENSION] = source.extensions[NONCE_EXTENSION]


class _TokenParametersHidden(logging.Filter):
    """Replaces the value of every ``oauth_token=``/``access_token=`` in a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = _TOKEN_PARAMETER.sub(_HIDDEN, message)
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


_FILTER = _TokenParametersHidden()


def hide_token_parameters() -> None:
    """Keep token parameters out of the records of httpx2's logger (its request line)."""
    httpx_logger = logging.getLogger("httpx2")
    if _FILTER not in httpx_logger.filters:
        httpx_logger.addFilter(_FILTER)
