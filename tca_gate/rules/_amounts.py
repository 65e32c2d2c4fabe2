"""Exact conversion between token amounts and base units (1 token = 10^8 satoshis)."""

from __future__ import annotations

import re
from decimal import Decimal

from tca_gate.errors import AmountError, shorten

from ._clause import INFINITE_AMOUNT

SATOSHIS_PER_TOKEN = 100_000_000
_DECIMALS = 8
#: The most digits before the decimal point an amount may have (far past any token supply).
MAX_DIGITS = 40
_DECIMAL_TEXT = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]*))?|([+-]?)\.([0-9]+)")


def tokens_to_sat(amount: str | int | Decimal) -> int:
    """Convert a token amount to base units exactly; refuses floats and extra decimals.

    >>> tokens_to_sat("1200"), tokens_to_sat(Decimal("0.5"))
    (120000000000, 50000000)
    """
    if isinstance(amount, bool) or not isinstance(amount, (str, int, Decimal)):
        raise AmountError(
            f"token amounts must be int, Decimal or a decimal string, not {type(amount).__name__}"
            + (" (floats are inexact: pass a str or Decimal)" if isinstance(amount, float) else "")
        )
    if isinstance(amount, int):
        if abs(amount) >= 10**MAX_DIGITS:
            raise AmountError(f"token amount has more than {MAX_DIGITS} digits")
        return amount * SATOSHIS_PER_TOKEN
    if isinstance(amount, Decimal):
        return _decimal_to_sat(amount)
    match = _DECIMAL_TEXT.fullmatch(amount.strip())
    if match is None:
        raise AmountError(f"{amount!r} is not a decimal token amount (write e.g. 1200 or 0.5)")
    if len(match[2] or "") > MAX_DIGITS:
        raise AmountError(f"token amount {shorten(amount)!r} has more than {MAX_DIGITS} digits")
    sign, whole, fraction = (
        (match[1], match[2], match[3]) if match[2] else (match[4], "0", match[5])
    )
    fraction = fraction or ""
    if len(fraction.rstrip("0")) > _DECIMALS:
        raise AmountError(f"token amount {amount!r} has more than {_DECIMALS} decimal places")
    sat = int(whole) * SATOSHIS_PER_TOKEN + int((fraction[:_DECIMALS] or "0").ljust(_DECIMALS, "0"))
    return -sat if sign == "-" else sat


def _decimal_to_sat(amount: Decimal) -> int:
    """Exact, from the digits: Decimal arithmetic would round to the context's 28 digits."""
    if not amount.is_finite():
        raise AmountError(f"token amount {amount} is not a finite number")
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return 0
    if amount.adjusted() >= MAX_DIGITS:
        raise AmountError(f"token amount {amount} has more than {MAX_DIGITS} digits")
    trailing_zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    digits, exponent = digits[: len(digits) - trailing_zeros], exponent + trailing_zeros
    if exponent < -_DECIMALS:
        raise AmountError(f"token amount {amount} has more than {_DECIMALS} decimal places")
    scale: int = 10 ** (exponent + _DECIMALS)  # exponent >= -8 here, so an int
    sat = int("".join(map(str, digits))) * scale
    return -sat if sign else sat


def sat_to_tokens(sat: int) -> Decimal:
    """Base units to an exact token ``Decimal`` without trailing zeros (``150000000`` → ``1.5``)."""
    if isinstance(sat, bool) or not isinstance(sat, int):
        raise AmountError(f"base units must be an int, not {type(sat).__name__}")
    whole, fraction = divmod(abs(sat), SATOSHIS_PER_TOKEN)
    text = f"{'-' if sat < 0 else ''}{whole}.{fraction:08d}".rstrip("0").rstrip(".")
    return Decimal(text)


def format_tokens(sat: int, *, grouping: bool = True) -> str:
    """Base units as a token amount for people: ``120000000000`` → ``1,200``.

    The ``tokenpass`` dialect's stand-in for PHP's ``INF`` reads ``infinity``.
    """
    if isinstance(sat, bool) or not isinstance(sat, int):
        raise AmountError(f"base units must be an int, not {type(sat).__name__}")
    if abs(sat) >= INFINITE_AMOUNT:
        return "-infinity" if sat < 0 else "infinity"
    whole, fraction = divmod(abs(sat), SATOSHIS_PER_TOKEN)
    text = f"{whole:,}" if grouping else str(whole)
    if fraction:
        text += "." + f"{fraction:08d}".rstrip("0")
    return "-" + text if sat < 0 else text
