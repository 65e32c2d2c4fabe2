"""The Tokens.net error codes (100 to 160, 429), each its own error in the shared tree.

Tokens.net answers a refusal with ``{"status": "error", "errorCode": N, "reason": ...}``;
``TokensNetError.error_code`` is ``N`` and ``reason`` the service's words. Each class
also derives from the shared class of its kind (``AuthenticationError`` for the signing
codes, ``InvalidRequestError`` for bad values, ``RateLimitError`` for 429), so code that
catches those catches Tokens.net's too.
"""

from __future__ import annotations

import re

from tca_gate._service_errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServiceError,
)


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


#: Every documented code's class.
ERROR_CLASSES: dict[int, type[TokensNetError]] = {
    cls.error_code_of_class: cls
    for cls in (
        ApiKeyMissingError,
        NonceMissingError,
        SignatureMissingError,
        NonceNotIntegerError,
        NonceTooLowError,
        InvalidApiKeyError,
        InvalidSignatureError,
        InvalidTradingPairError,
        InvalidOrderIdError,
        OrderNotOpenError,
        InvalidParameterError,
        InvalidCurrencyError,
        TokensNetRateLimitError,
    )
}

#: The documented reason of each code (``{parameter}`` and ``{error}`` filled in by 150).
REASONS: dict[int, str] = {
    100: "API Key is missing",
    101: "Nonce is missing",
    102: "Signature is missing",
    110: "Nonce has to be integer",
    111: "Provided nonce is less or equal to the last nonce",
    120: "Invalid API key",
    121: "Signature is invalid",
    130: "Invalid trading pair",
    131: "Invalid order id",
    140: "Only opened orders can be canceled",
    150: "Parameter {parameter} is invalid with error: {error}",
    160: "Invalid currency code",
    429: "API rate limit exceeded",
}

_PARAMETER = re.compile(r"Parameter (\S+) is invalid")


def error_class_for_code(code: int) -> type[TokensNetError]:
    """The error raised for a Tokens.net error code.

    >>> error_class_for_code(111).__name__, error_class_for_code(999).__name__
    ('NonceTooLowError', 'TokensNetError')
    """
    return ERROR_CLASSES.get(code, TokensNetError)


def parameter_of(reason: str) -> str | None:
    """The parameter a 150 reason names.

    >>> parameter_of("Parameter price is invalid with error: too small")
    'price'
    """
    found = _PARAMETER.match(reason)
    return found.group(1) if found else None
