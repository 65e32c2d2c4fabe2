"""The Token Delivery Service's own parameter checks (the shared ones: ``tca_gate.service``)."""

from __future__ import annotations

from tca_gate.errors import InvalidArgumentError
from tca_gate.service import flag, unix_seconds

#: The multi-sig kinds a source address can be.
ADDRESS_TYPES = ("2:2", "2:3")


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
    return None if value is None else unix_seconds(name, value)
