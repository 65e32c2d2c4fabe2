"""``Call``: one API call as data (what to send, how to read the answer), run by either shell."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import quote

from tca_gate.errors import InvalidArgumentError

T = TypeVar("T")

#: Methods that may be repeated safely, so a failed attempt is retried.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: Segments a URL resolver would move up or stay with, so they never name a thing.
_DOT_SEGMENTS = frozenset({".", ".."})


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """A request to make and the parser for its answer's JSON.

    ``path`` is relative to the service's base URL; ``query`` keeps its order (a
    rule stack's order matters); ``json`` is sent as compact JSON, ``form`` as form
    fields; ``signed`` calls go through the service's auth. ``done_if_gone`` marks a
    deletion answered only by ``{"result": true}``: a 404 to a retry means an earlier
    attempt did it. Parameters (tokens, secrets) are kept out of the repr.
    """

    method: str
    path: str
    parse: Callable[[object], T]
    query: Sequence[tuple[str, str]] = field(default=(), repr=False)
    json: Mapping[str, object] | None = field(default=None, repr=False)
    form: Mapping[str, str] | None = field(default=None, repr=False)
    signed: bool = True
    done_if_gone: bool = False

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
            raise InvalidArgumentError(f"{name} must be a str, not {type(value).__name__}")
        text = str(value)
        if not text.strip():
            raise InvalidArgumentError(f"{name} must not be empty")
        if text in _DOT_SEGMENTS:
            raise InvalidArgumentError(f"{name} must not be {text!r}: URLs resolve it away")
        quoted[name] = quote(text, safe="")
    return template.format(**quoted)
