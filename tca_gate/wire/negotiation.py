"""Content negotiation, one rule for every answer tca-gate gives (the gate's refusals, the
login's failures, the demo's pages): a page only for a client that asks for ``text/html``
by name, JSON for everyone else.

Browsers name ``text/html`` on every page load; ``fetch``, curl, httpx2 and API clients
send ``*/*`` or no ``Accept`` at all, and get JSON: a wildcard never asks for a page.
"""

from __future__ import annotations

_HTML = "text/html"
_JSON = "application/json"


def wants_html(accept: str) -> bool:
    """Whether an ``Accept`` header names ``text/html`` (with a quality above 0) and ranks
    ``application/json`` no higher; anything else (``*/*``, nothing) is answered in JSON.

    >>> wants_html("text/html,application/xhtml+xml,*/*;q=0.8"), wants_html("*/*"), wants_html("")
    (True, False, False)
    >>> wants_html("application/json, text/html;q=0.5"), wants_html("text/html;q=0")
    (False, False)
    """
    ranks = {_HTML: 0.0, _JSON: 0.0}
    for media_range in accept.split(","):
        media, *params = (part.strip().lower() for part in media_range.split(";"))
        if media in ranks:
            ranks[media] = max(ranks[media], _quality(params))
    return ranks[_HTML] > 0 and ranks[_HTML] >= ranks[_JSON]


def _quality(params: list[str]) -> float:
    """The ``q`` of a media range (1 when absent, 0 when unreadable)."""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0
