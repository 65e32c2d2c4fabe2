"""Parsers of whole answers, built from readers of one object, shared by every service."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ._shape import Fields

T = TypeVar("T")


def whole(read: Callable[[Fields], T]) -> Callable[[object], T]:
    """A parser of an answer that is itself one object."""
    return lambda value: read(Fields(value))


def done(value: object) -> None:
    """``{"result": true}``, Tokenly's success marker; anything else is not a success."""
    Fields(value).true("result")
