"""Why a login failed: an OAuth-style error code, a sentence for people, and the HTTP status."""

from __future__ import annotations

from tca_gate._errors import TcaGateError


class LoginConfigError(TcaGateError, ValueError):
    """``TokenpassLogin`` was set up wrongly (bad URL, scopes, or no session middleware)."""


class LoginError(TcaGateError):
    """A login that cannot finish; the callback answers with ``status`` and this error.

    ``code`` is an OAuth-style error code (``access_denied``, ``invalid_state``,
    ``invalid_grant``, ``provider_unreachable``, …) and ``description`` says what
    happened in a sentence a user can act on.
    """

    def __init__(self, code: str, description: str, status: int) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status
