"""Reading a JSON answer field by field; a wrong value raises ``ShapeError`` naming its place."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TypeVar

T = TypeVar("T")
V = TypeVar("V")

_INTEGER_TEXT = re.compile(r"-?[0-9]{1,64}")


class ShapeError(Exception):
    """A value in an answer is not as the contract says; ``where`` is its place (``list[2].asset``).

    The shells turn it into ``MalformedResponseError`` for the call that got the answer.
    """

    def __init__(self, where: str, expected: str, value: object) -> None:
        super().__init__(f"{where or 'the answer'} should be {expected}, not {describe(value)}")
        self.where = where


class _Missing:
    """The value of a field that is not there."""


MISSING = _Missing()


def describe(value: object) -> str:
    """A short phrase for a JSON value, for error messages (never the whole value).

    >>> describe(None), describe("x"), describe([1]), describe(1.5), describe(True)
    ('null', 'a string', 'a list', 'the number 1.5', 'true')
    """
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {value:g}" if isinstance(value, float) else f"the number {value}"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def elements(value: object, where: str) -> list[tuple[str, object]]:
    """The items of a JSON list, or of an object with keys ``"0"``, ``"1"``…, with their places.

    >>> elements({"1": "b", "0": "a"}, "list")
    [('list[0]', 'a'), ('list[1]', 'b')]
    """
    if isinstance(value, list):
        return [(f"{where}[{index}]", item) for index, item in enumerate(value)]
    if isinstance(value, dict) and all(
        isinstance(key, str) and key.isascii() and key.isdigit() for key in value
    ):
        ordered = sorted(value.items(), key=lambda item: int(item[0]))
        return [(f"{where}[{key}]", item) for key, item in ordered]
    raise ShapeError(where, "a list", value)


def each(value: object, where: str, read: Callable[[Fields], T]) -> tuple[T, ...]:
    """``read`` applied to every object of a list (or numeric-key object) at ``where``."""
    return tuple(read(Fields(item, place)) for place, item in elements(value, where))


class Fields:
    """A JSON object from an answer, read one typed field at a time."""

    __slots__ = ("_data", "where")

    def __init__(self, value: object, where: str = "") -> None:
        if not isinstance(value, dict):
            raise ShapeError(where, "an object", value)
        self._data: dict[str, object] = value
        self.where = where

    def place(self, key: str) -> str:
        """The place of ``key`` within the answer."""
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str) -> object:
        """The raw value of ``key``, ``MISSING`` when absent."""
        return self._data.get(key, MISSING)

    def names(self) -> list[str]:
        """The object's keys, in the answer's order."""
        return list(self._data)

    def absent(self, key: str) -> bool:
        """Whether ``key`` is missing or null."""
        value = self.get(key)
        return value is None or value is MISSING

    def _fail(self, key: str, expected: str) -> ShapeError:
        return ShapeError(self.place(key), expected, self.get(key))

    def _typed(self, key: str, kind: type[V], expected: str) -> V:
        """The value of ``key`` if it is a ``kind`` (a bool counting only as a bool)."""
        value = self.get(key)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self._fail(key, expected)
        return value

    def text(self, key: str) -> str:
        """A string field."""
        return self._typed(key, str, "a string")

    def optional_text(self, key: str) -> str | None:
        """A string field that may be null or absent."""
        return None if self.absent(key) else self.text(key)

    def integer(self, key: str) -> int:
        """An integer field (a JSON number without fraction; never a bool)."""
        return self._typed(key, int, "an integer")

    def optional_integer(self, key: str) -> int | None:
        """An integer field that may be null or absent."""
        return None if self.absent(key) else self.integer(key)

    def amount(self, key: str) -> int:
        """Base units, exact: an integer or a decimal integer string (never a float)."""
        value = self.get(key)
        if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
            return int(value)
        return self._typed(key, int, "an integer amount")

    def amounts(self, key: str) -> Mapping[str, int]:
        """A read-only map of names to amounts (``{asset: base units}``; ``[]`` when empty)."""
        found = self.mapping(key)
        return MappingProxyType({name: found.amount(name) for name in found.names()})

    def flag(self, key: str) -> bool:
        """A boolean field."""
        return self._typed(key, bool, "true or false")

    def optional_flag(self, key: str) -> bool | None:
        """A boolean field that may be null or absent."""
        return None if self.absent(key) else self.flag(key)

    def true(self, key: str) -> None:
        """A field that must be ``true`` (the success marker ``"result": true``)."""
        if self.get(key) is not True:
            raise self._fail(key, "true")

    def fields(self, key: str) -> Fields:
        """A nested object."""
        return Fields(self.get(key), self.place(key))

    def mapping(self, key: str) -> Fields:
        """A nested object used as a map; ``[]`` is read as an empty one.

        PHP's ``json_encode`` writes an empty array as ``[]`` even where it means a map.
        """
        return Fields({} if self.get(key) == [] else self.get(key), self.place(key))

    def elements(self, key: str) -> list[tuple[str, object]]:
        """A nested list (or numeric-key object), its items with their places."""
        return elements(self.get(key), self.place(key))

    def each(self, key: str, read: Callable[[Fields], T]) -> tuple[T, ...]:
        """A nested list of objects, each read by ``read``."""
        return each(self.get(key), self.place(key), read)

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of strings."""
        items = []
        for where, value in self.elements(key):
            if not isinstance(value, str):
                raise ShapeError(where, "a string", value)
            items.append(value)
        return tuple(items)

    def timestamp(self, key: str) -> datetime:
        """A ``YYYY-MM-DD HH:MM:SS`` time (or ISO 8601), UTC unless it says otherwise."""
        text = self.text(key)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self._fail(key, "a time like 2024-01-31 12:00:00") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def optional_timestamp(self, key: str) -> datetime | None:
        """A time that may be null or absent."""
        return None if self.absent(key) else self.timestamp(key)
