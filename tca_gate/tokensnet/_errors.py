"""The Tokens.net error codes (100 to 160, 429), each its own error in the shared tree.

Tokens.net answers a refusal with ``{"status": "error", "errorCode": N, "reason": ...}``;
``TokensNetError.error_code`` is ``N`` and ``reason`` the service's words. Each class
also derives from the shared class of its kind (``AuthenticationError`` for the signing
codes, ``InvalidRequestError`` for bad values, ``RateLimitError`` for 429), so code that
catches those catches Tokens.net's too.
"""

from __future__ import annotations

import re

from tca_gate.errors import (
    ApiKeyMissingError,
    InvalidApiKeyError,
    InvalidCurrencyError,
    InvalidOrderIdError,
    InvalidParameterError,
    InvalidSignatureError,
    InvalidTradingPairError,
    NonceMissingError,
    NonceNotIntegerError,
    NonceTooLowError,
    OrderNotOpenError,
    SignatureMissingError,
    TokensNetError,
    TokensNetRateLimitError,
)

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
