"""``Call``: one API call as data (what to send, how to read the answer), run by either shell."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import quote

T = TypeVar("T")

#: Methods that may be repeated safely, so a failed attempt is retried.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """A request to make and the parser for its answer's JSON.

    ``path`` is relative to the service's base URL; ``query`` keeps its order (a
    rule stack's order matters); ``json`` is sent as compact JSON, ``form`` as form
    fields; ``signed`` calls go through the service's auth.
    """

    method: str
    path: str
    parse: Callable[[object], T]
    query: Sequence[tuple[str, str]] = ()
    json: Mapping[str, object] | None = None
    form: Mapping[str, str] | None = None
    signed: bool = True

    @property
    def idempotent(self) -> bool:
        """Whether repeating the call cannot do more than doing it once."""
        return self.method.upper() in IDEMPOTENT_METHODS


def path(template: str, **segments: str | int) -> str:
    """``template`` with each ``{name}`` replaced by its value, percent-encoded as one segment.

    >>> path("/api/v1/tca/check/{username}", username="a/b c")
    '/api/v1/tca/check/a%2Fb%20c'
    """
    quoted = {}
    for name, value in segments.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TypeError(f"{name} must be a str, not {type(value).__name__}")
        text = str(value)
        if not text.strip():
            raise ValueError(f"{name} must not be empty")
        quoted[name] = quote(text, safe="")
    return template.format(**quoted)
