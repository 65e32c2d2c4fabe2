"""A request's parameters read field by field: each refusal is a 4xx naming the field.

GET and DELETE parameters come from the query string (all text); POST, PATCH and
PUT from a JSON object body (typed). Readers accept both spellings of a value
where Tokenpass clients send either (``"true"`` or ``true``, ``"5"`` or ``5``).
"""

from __future__ import annotations

from collections.abc import Mapping

from tca_gate.errors import shorten
from tca_gate.signing.bitcoin import is_valid_address

from ._api_error import ApiError, invalid
from ._limits import MAX_SAT, MAX_TEXT, is_asset_name, is_chain_name

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
_MAX_DIGITS = 19


class Params:
    """Named parameters of one request, with typed readers."""

    def __init__(self, values: Mapping[str, object]) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        """Whether the parameter is present (``null`` counts as present)."""
        return name in self.values

    def text(self, name: str, *, max_length: int = MAX_TEXT) -> str:
        """A required, non-empty string."""
        value = self.values.get(name)
        if value is None:
            raise invalid(name, "is required")
        if not isinstance(value, str):
            raise invalid(name, f"must be a string, not {_kind(value)}")
        if not value.strip():
            raise invalid(name, "must not be empty")
        if len(value) > max_length:
            raise invalid(name, f"must be at most {max_length} characters")
        return value

    def optional_text(self, name: str, *, max_length: int = MAX_TEXT) -> str | None:
        """A string, or None when absent or ``null``; an empty string is kept."""
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid(name, f"must be a string or null, not {_kind(value)}")
        if len(value) > max_length:
            raise invalid(name, f"must be at most {max_length} characters")
        return value

    def flag(self, name: str, default: bool) -> bool:
        """A boolean: JSON ``true``/``false`` or the text ``true``/``false``/``1``/``0``."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise invalid(name, "must be true or false")

    def integer(self, name: str, *, minimum: int = 0, maximum: int = MAX_SAT) -> int:
        """A required whole number within bounds, as a JSON integer or a string of digits."""
        value = self.values.get(name)
        if value is None:
            raise invalid(name, "is required")
        number = _whole_number(value)
        if number is None:
            raise invalid(name, f"must be a whole number, not {shorten(repr(value), 40)}")
        if not minimum <= number <= maximum:
            raise invalid(name, f"must be between {minimum} and {maximum}")
        return number

    def optional_integer(
        self, name: str, *, minimum: int = 0, maximum: int = MAX_SAT
    ) -> int | None:
        """A whole number within bounds, or None when absent or ``null``."""
        return (
            None
            if self.values.get(name) is None
            else self.integer(name, minimum=minimum, maximum=maximum)
        )

    def address(self, name: str) -> str:
        """A required P2PKH address; a malformed one is a 400."""
        value = self.text(name, max_length=100)
        return checked_address(value, name)

    def asset(self, name: str) -> str:
        """A required asset name."""
        value = self.text(name, max_length=250)
        if not is_asset_name(value):
            raise invalid(name, f"{shorten(value, 40)!r} is not an asset name")
        return value

    def chain_name(self, name: str, default: str) -> str:
        """A chain or protocol name (``bitcoin``, ``counterparty``...), ``default`` if absent."""
        value = self.optional_text(name, max_length=32)
        if value is None:
            return default
        if not is_chain_name(value):
            raise invalid(name, f"{shorten(value, 40)!r} is not a chain or protocol name")
        return value

    def text_list(self, name: str, *, separator: str = ",") -> list[str] | None:
        """A list of strings: a JSON list or one ``separator``-joined string; None if absent."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return [item.strip() for item in value.split(separator) if item.strip()]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return list(value)
        raise invalid(name, "must be a list of strings or one joined string")


def checked_address(value: str, field: str = "address") -> str:
    """``value`` if it is a valid P2PKH address, else a 400 naming ``field``."""
    if not is_valid_address(value):
        raise ApiError(400, "Invalid address", field=field)
    return value


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        digits = text.removeprefix("-")
        if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_DIGITS:
            return int(text)
    return None


def _kind(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    return names.get(type(value), type(value).__name__)
