"""Every exception tca-gate raises, in one tree (extras' errors included).

TcaGateError                          the root of every error raised on purpose
├── RuleSyntaxError                   (ValueError) a rule's text or mapping cannot be read
├── RuleFormatError                   (ValueError) a rule cannot be written in the form asked
├── AmountError                       (ValueError) a token amount is not an exact decimal
├── InvalidBalancesError              (TypeError) balances are not a mapping of asset to int
├── InvalidArgumentError              (ValueError) an argument or setting refused before any call
│   ├── AmbiguousRequestError         a TDX request whose signed parts could be read otherwise
│   └── WebhookPayloadError           a balance webhook's body does not say whose balances
├── GateConfigError                   (ValueError) the gate is configured wrongly (at start-up)
├── LoginConfigError                  (ValueError) ``TokenpassLogin`` or ``WalletLogin`` is
│                                     set up wrongly
├── LoginError                        a login or wallet sign-in cannot finish; ``code``,
│                                     ``description``, ``status``
├── UnknownHolderError                no balances for this holder (no such user or address)
├── BalanceUnavailableError           the balances cannot be read now: a gate refuses (503)
├── BalanceFileError                  (ValueError) static balances cannot be read from a file
├── SeedError                         (ValueError) a sandbox seed file is wrong
├── SandboxError                      (RuntimeError) the sandbox did not start or refused a call
├── DemoError                         (RuntimeError) the demo or an example could not start
├── ReplayStoreUnavailableError        a replay store failed: a signed request is refused (503)
├── SignatureError                    a request's signature was refused; ``reason`` says why
│   ├── TokenlySignatureError         Tokenly HMAC (Tokenpass, Token Delivery, webhooks)
│   ├── TDXSignatureError             ``TDXV1-HMAC-SHA256``
│   ├── TokensNetSignatureError       Tokens.net; ``code`` is the service's error code
│   └── TokensoftSignatureError       Tokensoft ``access-sign``
└── ServiceError                      a call to a service failed; ``status``, ``retry_after``
    ├── ServiceUnavailableError       the service could not be reached or did not answer
    │   (a timeout included)
    ├── MalformedResponseError        the answer is not in the shape the service documents
    ├── AuthenticationError           401: missing or bad app signature or user token
    │   └── ForbiddenError            Token Delivery's 403 (also PermissionDeniedError)
    ├── PermissionDeniedError         403: the token lacks the scope, or the app is not allowed
    ├── NotFoundError                 404: no such user, address, promise, group or account
    ├── ConflictError                 409: it already exists
    ├── InvalidRequestError           400, 422 (also ValueError): a value or field was refused
    │   └── UnprocessableEntityError  Token Delivery's 422 (a validation rule broken)
    ├── RateLimitError                429: too many calls; ``retry_after`` says when to return
    ├── ServerError                   5xx: the service failed
    │   └── MaintenanceError          Token Delivery's 503 (down for maintenance)
    ├── MethodNotAllowedError         Token Delivery's 405
    ├── ClientClosedError             (RuntimeError) the client was used after ``close()``
    ├── TokensoftGraphQLError         Tokensoft answered with GraphQL ``errors``
    └── TokensNetError                Tokens.net refused with an error code; one class a code,
        each also under its kind (AuthenticationError, InvalidRequestError, NotFoundError,
        RateLimitError):
        ApiKeyMissingError (100), NonceMissingError (101), SignatureMissingError (102),
        NonceNotIntegerError (110), NonceTooLowError (111), InvalidApiKeyError (120),
        InvalidSignatureError (121), InvalidTradingPairError (130), InvalidOrderIdError
        (131), OrderNotOpenError (140), InvalidParameterError (150), InvalidCurrencyError
        (160), TokensNetRateLimitError (429)

Outside the tree: ``tca_gate.fastapi.TokenRefusal`` is FastAPI's ``HTTPException`` (a
refusal answered as 401, 403 or 503), not an error of the library.

A service error names the call (``method`` and ``url``, without the query string, which
can carry tokens) and never holds a credential. ``str(error)`` reads as one sentence, on
one line: the service's own message has its line breaks and control characters made
spaces. No error, of any kind, holds a token, secret or signature.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

_CONTEXT_WIDTH = 72


class TcaGateError(Exception):
    """The root of every error tca-gate raises on purpose."""


class RuleSyntaxError(TcaGateError, ValueError):
    """A rule could not be read; says which key, where, and what would have been accepted.

    ``position`` is the 0-based character offset in ``text`` (``None`` when the
    problem has no single place, such as an empty rule).
    """

    def __init__(
        self,
        message: str,
        *,
        text: str | None = None,
        position: int | None = None,
        length: int = 1,
        key: str | None = None,
        expected: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.position = position
        self.length = max(1, length)
        self.key = key
        self.expected = tuple(expected)
        self.hint = hint

    def __str__(self) -> str:
        lines = [self.message]
        if self.position is not None:
            lines[0] += f" (at character {self.position})"
        if self.text is not None and self.position is not None:
            lines.extend(caret_context(self.text, self.position, self.length))
        if self.expected:
            lines.append("  expected: " + _or_list(self.expected))
        if self.hint:
            lines.append("  hint: " + self.hint)
        return "\n".join(lines)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_syntax_error, (self.message, self.__dict__))


def _rebuild_syntax_error(message: str, state: dict[str, object]) -> RuleSyntaxError:
    error = RuleSyntaxError(message)
    error.__dict__.update(state)
    return error


class RuleFormatError(TcaGateError, ValueError):
    """A rule holds something the requested text form cannot express."""


class AmountError(TcaGateError, ValueError):
    """A token amount is not a plain decimal with at most 8 decimal places."""


class InvalidBalancesError(TcaGateError, TypeError):
    """Balances must map asset names to ``int`` base units; nothing else is coerced."""


class InvalidArgumentError(TcaGateError, ValueError):
    """An argument or setting was refused before anything was sent; the message names it."""


def shorten(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for echoing input in messages."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def caret_context(text: str, position: int, length: int = 1) -> list[str]:
    """The line of ``text`` around ``position`` with a caret line under the problem."""
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    line = text[start : len(text) if end < 0 else end]
    column = position - start
    width = max(1, min(length, len(line) - column))
    prefix = ""
    if len(line) > _CONTEXT_WIDTH:
        left = max(0, min(column - _CONTEXT_WIDTH // 3, len(line) - _CONTEXT_WIDTH))
        shown = line[left : left + _CONTEXT_WIDTH]
        prefix = "…" if left else ""
        suffix = "…" if left + _CONTEXT_WIDTH < len(line) else ""
        column -= left
        width = max(1, min(width, len(shown) - column))
        line = prefix + shown + suffix
        column += len(prefix)
    visible = line.replace("\t", " ")
    return ["  " + visible, "  " + " " * column + "^" * width]


def _or_list(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


#: The longest part of a service's own message repeated in an error.
MESSAGE_LIMIT = 300

#: Unicode categories shown as a space: controls, format marks (bidi overrides), separators.
_UNPRINTED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def one_line(text: str) -> str:
    """``text`` with controls and runs of whitespace made single spaces, so logs stay honest.

    >>> one_line("bad\\r\\nWARNING forged\\x1b[2J  line\\u202e")
    'bad WARNING forged [2J line'
    """
    shown = "".join(" " if unicodedata.category(char) in _UNPRINTED else char for char in text)
    return " ".join(shown.split())


class ServiceError(TcaGateError):
    """A call to a service failed; also raised as is for statuses with no class of their own.

    ``status`` is the HTTP status (``None`` when there was no answer), ``message`` the
    service's own words, ``field`` the parameter it named, ``code`` its error code
    (such as OAuth's ``invalid_grant``) and ``retry_after`` the seconds it asked to wait.
    """

    verb = "refused"

    def __init__(
        self,
        message: str,
        *,
        service: str,
        method: str,
        url: str,
        status: int | None = None,
        field: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = shorten(one_line(message), MESSAGE_LIMIT)
        super().__init__(self.message)
        self.service = service
        self.method = method
        self.url = url
        self.status = status
        self.field = field
        self.code = code
        self.retry_after = retry_after

    @property
    def path(self) -> str:
        """The called URL's path, as messages show it."""
        scheme_end = self.url.find("://")
        slash = self.url.find("/", scheme_end + 3 if scheme_end >= 0 else 0)
        return self.url[slash:] if slash >= 0 else "/"

    def __str__(self) -> str:
        detail = self.message
        if self.status is not None:
            detail = f"{self.status} {detail}"
        if self.field is not None and self.field not in self.message:
            detail += f" (field {self.field!r})"
        if self.retry_after is not None:
            detail += f"; retry after {self.retry_after:g} s"
        return f"{self.service} {self.verb} {self.method} {self.path}: {detail}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__))


def _rebuild(cls: type[ServiceError], state: dict[str, Any]) -> ServiceError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    error.args = (state["message"],)
    return error


class ServiceUnavailableError(ServiceError):
    """The service could not be reached, the connection broke, or it did not answer in time."""

    verb = "could not be reached for"


class MalformedResponseError(ServiceError):
    """The service answered, but not with the documented shape (bad JSON, missing field)."""

    verb = "sent an unexpected answer to"


class AuthenticationError(ServiceError):
    """401: the app's signature or the user's token is missing, wrong or expired."""


class PermissionDeniedError(ServiceError):
    """403: the user's token lacks the scope, or the app may not use the resource."""


class NotFoundError(ServiceError):
    """404: the user, address, promise, group or account does not exist (for this app)."""


class ConflictError(ServiceError):
    """409: what the call would create already exists."""


class InvalidRequestError(ServiceError, ValueError):
    """400 or 422: a value was malformed, missing or not allowed; ``field`` names it if known."""


class RateLimitError(ServiceError):
    """429: too many calls; ``retry_after`` is the wait the service asked for, if it said."""


class ServerError(ServiceError):
    """5xx: the service failed while handling the call."""

    verb = "failed"


class ClientClosedError(ServiceError, RuntimeError):
    """The client was closed (``close()``, or its ``with`` block ended); open a new one."""

    verb = "was not called for"


_BY_STATUS: dict[int, type[ServiceError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def error_class_for(status: int) -> type[ServiceError]:
    """The error raised for an HTTP status that is not a success.

    >>> error_class_for(403).__name__, error_class_for(503).__name__
    ('PermissionDeniedError', 'ServerError')
    """
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ServiceError)


# The rule engine, arguments and configuration.


class AmbiguousRequestError(InvalidArgumentError):
    """A request whose joined parts could be read as other parts (a query as a content
    type, say): the TDX signature could not tell them apart, so it is not signed (by the
    client) nor accepted (by the verifier)."""


class WebhookPayloadError(InvalidArgumentError):
    """A webhook body that does not say whose balances changed; ``field`` is where."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class GateConfigError(TcaGateError, ValueError):
    """The gate's configuration is wrong: a rule that does not compile, a pattern or
    route name that cannot be used, a file that cannot be read. Raised at start-up."""


class LoginConfigError(TcaGateError, ValueError):
    """``TokenpassLogin`` or ``WalletLogin`` was set up wrongly (bad URL, scopes, origin,
    or no session middleware)."""


class LoginError(TcaGateError):
    """A login that cannot finish; the callback answers with ``status`` and this error.

    ``code`` is an OAuth-style error code (``access_denied``, ``invalid_state``,
    ``invalid_grant``, ``provider_unreachable``, …; for a wallet sign-in
    ``no_challenge``, ``challenge_expired``, ``signature_mismatch``, …) and
    ``description`` says what happened in a sentence a user can act on.
    """

    def __init__(self, code: str, description: str, status: int) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status


# Balances.


class UnknownHolderError(TcaGateError):
    """No balances for this holder: no such user or address, or the token was refused."""


class BalanceUnavailableError(TcaGateError):
    """The balances could not be read now; a gate must refuse rather than guess."""


class BalanceFileError(TcaGateError, ValueError):
    """Static balances could not be read; ``origin`` is the file, ``where`` the entry."""

    def __init__(self, origin: str, where: str, problem: str) -> None:
        at = f" at {where}" if where else ""
        super().__init__(f"{origin}{at}: {problem}")
        self.origin = origin
        self.where = where
        self.problem = problem


# The sandbox and the demo.


class SeedError(TcaGateError, ValueError):
    """A seed file cannot be read or is inconsistent; the message names the entry and field."""


class SandboxError(TcaGateError, RuntimeError):
    """The sandbox did not start, or refused a helper's call; the message says which and why."""


class DemoError(TcaGateError, RuntimeError):
    """The demo (or an example's server) could not start; the message says why."""


# Signatures.

#: Why a Tokenly HMAC signature was refused.
TokenlyRefusalReason = Literal[
    "missing-header",
    "malformed-header",
    "malformed-nonce",
    "malformed-body",
    "unknown-token",
    "stale-nonce",
    "future-nonce",
    "replayed-request",
    "bad-signature",
]
#: Why a TDX signature was refused.
TDXRefusalReason = Literal[
    "missing-authorization",
    "unsupported-scheme",
    "malformed-authorization",
    "malformed-nonce",
    "malformed-timestamp",
    "ambiguous-request",
    "unknown-api-key",
    "stale-timestamp",
    "future-timestamp",
    "bad-signature",
    "replayed-nonce",
    "bad-token",
]
#: Why a Tokensoft signature was refused.
TokensoftRefusalReason = Literal[
    "malformed-header",
    "missing-key",
    "missing-timestamp",
    "missing-signature",
    "unknown-key",
    "malformed-timestamp",
    "stale-timestamp",
    "bad-signature",
    "replayed-request",
]


class ReplayStoreUnavailableError(TcaGateError):
    """The replay store failed, so whether a signed request is fresh cannot be known (503)."""


class SignatureError(TcaGateError):
    """A request's signature was refused; ``reason`` says why, never the expected value."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class TokenlySignatureError(SignatureError):
    """A request's Tokenly HMAC auth was refused; ``reason`` says why, never the expected value."""

    def __init__(self, reason: TokenlyRefusalReason, message: str) -> None:
        super().__init__(reason, message)
        self.reason: TokenlyRefusalReason = reason


class TDXSignatureError(SignatureError):
    """A request's TDX auth was refused; ``reason`` says why, never the expected value."""

    def __init__(self, reason: TDXRefusalReason, message: str) -> None:
        super().__init__(reason, message)
        self.reason: TDXRefusalReason = reason


class TokensoftSignatureError(SignatureError):
    """A request's Tokensoft signature was refused; ``reason`` says why (never the expected
    signature)."""

    def __init__(self, reason: TokensoftRefusalReason, message: str) -> None:
        super().__init__(reason, message)
        self.reason: TokensoftRefusalReason = reason


class TokensNetSignatureError(SignatureError):
    """A request's Tokens.net signing was refused: ``code`` is the document's error code,
    ``reason`` its text."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason, f"error {code}: {reason}")
        self.code = code


# Token Delivery's own codes.


class ForbiddenError(AuthenticationError, PermissionDeniedError):
    """403: the API token, nonce or signature is wrong or missing (the service's 403)."""


class MethodNotAllowedError(ServiceError):
    """405: the endpoint does not take this HTTP method."""


class UnprocessableEntityError(InvalidRequestError):
    """422: the data was valid but broke a validation rule (e.g. not enough inventory)."""


class MaintenanceError(ServerError):
    """503: the service is offline for maintenance; ``retry_after`` when it said."""

    verb = "is down for maintenance and refused"


# Tokens.net's error codes, each its own class.


class TokensNetError(ServiceError):
    """Tokens.net refused a call with an error code; unknown codes are raised as this."""

    #: The code this class stands for (``0`` on this base class).
    error_code_of_class = 0

    def __init__(
        self,
        message: str,
        *,
        error_code: int,
        service: str,
        method: str,
        url: str,
        status: int | None = None,
        field: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            f"error {error_code}: {message}",
            service=service,
            method=method,
            url=url,
            status=status,
            field=field,
            code=str(error_code),
            retry_after=retry_after,
        )
        self.error_code = error_code
        self.reason = message


class ApiKeyMissingError(TokensNetError, AuthenticationError):
    """100: the ``key`` header is missing."""

    error_code_of_class = 100


class NonceMissingError(TokensNetError, AuthenticationError):
    """101: the ``nonce`` header is missing."""

    error_code_of_class = 101


class SignatureMissingError(TokensNetError, AuthenticationError):
    """102: the ``signature`` header is missing."""

    error_code_of_class = 102


class NonceNotIntegerError(TokensNetError, AuthenticationError):
    """110: the nonce is not an integer."""

    error_code_of_class = 110


class NonceTooLowError(TokensNetError, AuthenticationError):
    """111: the nonce is less than or equal to the last one this key used."""

    error_code_of_class = 111


class InvalidApiKeyError(TokensNetError, AuthenticationError):
    """120: no such API key."""

    error_code_of_class = 120


class InvalidSignatureError(TokensNetError, AuthenticationError):
    """121: the signature does not match the key, nonce and secret."""

    error_code_of_class = 121


class InvalidTradingPairError(TokensNetError, InvalidRequestError):
    """130: no such trading pair."""

    error_code_of_class = 130


class InvalidOrderIdError(TokensNetError, NotFoundError):
    """131: no such order (for this account)."""

    error_code_of_class = 131


class OrderNotOpenError(TokensNetError, InvalidRequestError):
    """140: only open orders can be canceled."""

    error_code_of_class = 140


class InvalidParameterError(TokensNetError, InvalidRequestError):
    """150: a parameter was refused; ``field`` names it when the reason does."""

    error_code_of_class = 150


class InvalidCurrencyError(TokensNetError, InvalidRequestError):
    """160: no such currency code."""

    error_code_of_class = 160


class TokensNetRateLimitError(TokensNetError, RateLimitError):
    """429: the API rate limit is exceeded (retried for reads, like every ``RateLimitError``)."""

    error_code_of_class = 429


# Tokensoft.


@dataclass(frozen=True, slots=True)
class GraphQLProblem:
    """One entry of a GraphQL answer's ``errors``.

    ``path`` is where in ``data`` it happened (field names and list indexes), ``None``
    when the error is about the whole request (a validation error, say); ``code`` is
    ``extensions.code`` when the server gives one.
    """

    message: str
    path: tuple[str | int, ...] | None = None
    code: str | None = None

    @property
    def where(self) -> str | None:
        """The path as text (``whitelistUser`` or ``prices.history.2``)."""
        return None if self.path is None else ".".join(str(part) for part in self.path)


class TokensoftGraphQLError(ServiceError):
    """Tokensoft answered, but with GraphQL ``errors`` (raised even beside partial ``data``).

    ``problems`` holds every error (message, path, code); ``message``, ``field`` and
    ``code`` repeat the first one's; ``data`` is whatever ``data`` came with them.
    """

    verb = "answered with errors to"

    def __init__(
        self,
        problems: tuple[GraphQLProblem, ...],
        *,
        data: dict[str, Any] | None,
        method: str,
        url: str,
        status: int | None = None,
    ) -> None:
        first = problems[0]
        message = first.message
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more)"
        super().__init__(
            message,
            service="Tokensoft",
            method=method,
            url=url,
            status=status,
            field=first.where,
            code=first.code,
        )
        self.problems = problems
        self.data = data

    def __str__(self) -> str:
        detail = self.message
        if self.field is not None:
            detail += f" (at {self.field})"
        return f"{self.service} {self.verb} {self.method} {self.path}: {one_line(detail)}"
