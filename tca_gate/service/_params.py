"""Checking and shaping a call's parameters before anything is sent (every service's calls)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Literal, TypeAlias, TypeVar

from tca_gate.errors import InvalidArgumentError

T = TypeVar("T")


class Unchanged(enum.Enum):
    """The type of ``UNCHANGED``."""

    UNCHANGED = "UNCHANGED"

    def __repr__(self) -> str:
        return "UNCHANGED"


#: An update call's default: leave the field as it is (``None`` sets a nullable field to null).
UNCHANGED = Unchanged.UNCHANGED


#: A value to set, or ``UNCHANGED``.
Change: TypeAlias = T | Literal[Unchanged.UNCHANGED]


def text(name: str, value: object) -> str:
    """A required, non-empty string parameter."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a non-empty string, not {type(value).__name__}")
    if not value.strip():
        raise InvalidArgumentError(f"{name} must be a non-empty string, not a blank one")
    return value


def amount(name: str, value: object, *, positive: bool = True) -> int:
    """An amount in base units: an int (never a float or bool), above zero when ``positive``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(
            f"{name} must be an int in base units (1 token = 10^8), not {type(value).__name__}"
        )
    if positive and value <= 0:
        raise InvalidArgumentError(f"{name} must be above zero, not {value}")
    return value


def unix_seconds(name: str, value: object, *, positive: bool = False) -> int:
    """A unix time in seconds from an int or a timezone-aware ``datetime``; not negative,
    or above zero when ``positive``."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidArgumentError(f"{name} must be a timezone-aware datetime, not a naive one")
        return int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, int) or value < int(positive):
        raise InvalidArgumentError(
            f"{name} must be a unix time in seconds or an aware datetime, not {value!r}"
        )
    return value


def some(**params: object) -> dict[str, object]:
    """The parameters that were given (``None`` means leave out)."""
    return {key: value for key, value in params.items() if value is not None}


def changes(call: str, **params: object) -> dict[str, object]:
    """An update's fields: all but the ``UNCHANGED`` ones; at least one is required."""
    changed = {key: value for key, value in params.items() if value is not UNCHANGED}
    if not changed:
        raise InvalidArgumentError(f"{call} needs at least one of: {', '.join(params)}")
    return changed


def optional_text(name: str, value: object) -> str | None:
    """A string parameter that may be ``None`` (sent as null)."""
    return None if value is None else text(name, value)


def flag(name: str, value: object) -> bool:
    """A ``True`` or ``False`` parameter."""
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, not {value!r}")
    return value


def texts(name: str, values: Iterable[str] | str) -> list[str] | str:
    """A non-empty list of non-empty strings, or one non-empty string as the service reads it."""
    if isinstance(values, str):
        return text(name, values)
    if not isinstance(values, Iterable):
        raise InvalidArgumentError(
            f"{name} must be a list of strings or a string, not {type(values).__name__}"
        )
    found = [text(f"{name}[{index}]", value) for index, value in enumerate(values)]
    if not found:
        raise InvalidArgumentError(f"{name} must not be an empty list")
    return found


def addresses(name: str, values: Iterable[str]) -> list[str]:
    """A list of addresses (a lone string is refused: it would be read as its characters)."""
    if isinstance(values, str):
        raise InvalidArgumentError(f"{name} must be a list of addresses, not one string")
    found = [text(f"{name}[{index}]", value) for index, value in enumerate(values)]
    if not found:
        raise InvalidArgumentError(f"{name} must not be empty")
    return found
