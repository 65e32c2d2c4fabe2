"""The errors a remote service's client raises (Tokenpass and the other token services).

TcaGateError
└── ServiceError                  a call failed; ``status``, ``message``, ``retry_after``
    ├── ServiceUnavailableError   the service could not be reached or did not answer in time
    ├── MalformedResponseError    the answer is not in the shape the service documents
    ├── AuthenticationError       401: missing or bad app signature or user token
    ├── PermissionDeniedError     403: the token lacks the scope, or the app is not allowed
    ├── NotFoundError             404: no such user, address, promise, group or account
    ├── ConflictError             409: it already exists
    ├── InvalidRequestError       400, 422 (also ValueError): a value or field was refused
    ├── RateLimitError            429: too many calls; ``retry_after`` says when to come back
    ├── ServerError               5xx: the service failed
    └── ClientClosedError         (also RuntimeError) the client was used after ``close()``

Every error names the call (``method`` and ``url``, without the query string, which can
carry tokens) and never holds a credential. ``str(error)`` reads as one sentence, on one
line: the service's own message has its line breaks and control characters made spaces.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ._errors import TcaGateError, shorten

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
