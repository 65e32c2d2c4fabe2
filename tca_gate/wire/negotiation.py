"""Content negotiation: does the client want JSON or a page?"""

from __future__ import annotations


def prefers_json(accept: str) -> bool:
    """Whether an ``Accept`` header ranks ``application/json`` above ``text/html``.

    >>> prefers_json("application/json"), prefers_json("text/html,*/*;q=0.8"), prefers_json("")
    (True, False, False)
    >>> prefers_json("text/html;q=0.5, application/json")
    True
    """
    ranks = {"application/json": 0.0, "text/html": 0.0}
    for media_range in accept.split(","):
        media, *params = (part.strip().lower() for part in media_range.split(";"))
        if media in ranks:
            ranks[media] = max(ranks[media], _quality(params))
    return ranks["application/json"] > ranks["text/html"]


def _quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0
