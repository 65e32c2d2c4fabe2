"""Checking the parameters of Token Delivery calls before anything is sent."""

from __future__ import annotations

from datetime import datetime

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import (
    UNCHANGED,
    Change,
    amount,
    changes,
    flag,
    optional_text,
    some,
    text,
    texts,
)

#: The multi-sig kinds a source address can be.
ADDRESS_TYPES = ("2:2", "2:3")

__all__ = [
    "ADDRESS_TYPES",
    "UNCHANGED",
    "Change",
    "address_type",
    "amount",
    "changes",
    "count",
    "flag",
    "optional_flag",
    "optional_text",
    "some",
    "text",
    "texts",
    "timestamp",
]


def address_type(value: object) -> str:
    """``"2:2"`` or ``"2:3"``."""
    if value not in ADDRESS_TYPES:
        raise InvalidArgumentError(f"type must be '2:2' or '2:3', not {value!r}")
    assert isinstance(value, str)
    return value


def optional_flag(name: str, value: object) -> bool | None:
    """``True``, ``False`` or ``None`` (left out)."""
    return None if value is None else flag(name, value)


def count(name: str, value: object) -> int:
    """A whole number, not negative."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{name} must be an int, not negative, not {value!r}")
    return value


def timestamp(name: str, value: object) -> int | None:
    """A unix time in seconds from an int or a timezone-aware ``datetime``; ``None`` stays."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidArgumentError(f"{name} must be timezone-aware, not a naive datetime")
        return int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(
            f"{name} must be a unix time in seconds or an aware datetime, not {value!r}"
        )
    return value
