"""How the gate refuses: JSON for API clients, a page or a login redirect for browsers.

A client gets a page only when its ``Accept`` asks for it (``tca_gate.wire.negotiation``,
the one rule of every answer: browsers do; ``fetch``, curl and httpx2 send ``*/*`` and get
JSON). Every answer about a gated path is private to its user and never cached:
``Cache-Control: private, no-store`` and ``Vary: Accept, Cookie, Authorization``.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import Message

from tca_gate.wire.negotiation import wants_html

from ._verdict import Outcome, Verdict

CACHE_CONTROL = "private, no-store"
VARY = ("Accept", "Cookie", "Authorization")
#: Seconds a client is told to wait before asking again after a 503.
RETRY_AFTER = 5

_CACHE_CONTROL_RAW = (b"cache-control", CACHE_CONTROL.encode())
_VARY_TEXT = ", ".join(VARY)
_VARY_RAW = _VARY_TEXT.encode()
#: The raw headers that make a response private, for a response that has neither yet.
PRIVATE_HEADERS = (_CACHE_CONTROL_RAW, (b"vary", _VARY_RAW))

_TITLES = {
    Outcome.UNAUTHENTICATED: "Log in first",
    Outcome.IDENTITY_ERROR: "Log in first",
    Outcome.UNKNOWN_HOLDER: "No token holdings found",
    Outcome.INSUFFICIENT_TOKENS: "Not enough tokens",
    Outcome.RULE_ERROR: "Access cannot be checked",
    Outcome.BALANCES_UNAVAILABLE: "Token balances unavailable",
}

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head>
<body>
<main class="tca-gate-refusal" data-outcome="{code}">
<h1>{title}</h1>
<p class="detail">{detail}</p>
{extra}</main>
</body>
</html>
"""


def refusal(conn: HTTPConnection, verdict: Verdict, login_url: str) -> Response:
    """The answer to a refused request, negotiated by ``Accept``: browsers loading a
    page without a login are sent to ``login_url`` (with ``next``, this request's path)."""
    html = wants_html(conn.headers.get("accept", ""))
    is_page_load = conn.scope["type"] == "http" and conn.scope.get("method") in ("GET", "HEAD")
    if verdict.status == 401 and html and is_page_load and login_url:
        response: Response = RedirectResponse(login_redirect(conn, login_url), status_code=303)
    elif html:
        response = HTMLResponse(_page(verdict, login_url), status_code=verdict.status)
    else:
        response = JSONResponse(refusal_body(verdict), status_code=verdict.status)
    response.headers.update(refusal_headers(verdict, login_url))
    return response


def refusal_headers(verdict: Verdict, login_url: str) -> dict[str, str]:
    """The headers of every refusal of ``verdict``: private, uncacheable, and
    ``WWW-Authenticate`` for 401, ``Retry-After`` for 503."""
    headers = {"Cache-Control": CACHE_CONTROL, "Vary": _VARY_TEXT}
    if verdict.status == 401:
        headers["WWW-Authenticate"] = f'Tokenpass login="{login_url or "/"}"'
    elif verdict.status == 503:
        headers["Retry-After"] = str(RETRY_AFTER)
    return headers


def refusal_body(verdict: Verdict) -> dict[str, Any]:
    """The JSON of a refusal: ``error`` code, ``detail``, and for rule refusals the rule,
    its hash and the decision (amounts in satoshis as strings)."""
    body: dict[str, Any] = {"error": verdict.outcome.value, "detail": verdict.detail}
    if verdict.outcome is Outcome.INSUFFICIENT_TOKENS:
        body["rule"] = verdict.rule.to_expr()
        body["rule_hash"] = verdict.rule.semantic_hash
        decision = verdict.decision
        if decision is not None:
            body["decision"] = decision.to_dict()
    return body


def mark_private(headers: MutableHeaders) -> None:
    """Make a response private and uncacheable, varying by who asks: one ``Vary`` header,
    the response's own names first, each name once (in any case)."""
    headers["Cache-Control"] = CACHE_CONTROL
    headers["Vary"] = merged_vary(headers.getlist("vary"))


def mark_private_message(message: Message) -> None:
    """``mark_private`` on an ASGI ``http.response.start`` message, on its raw headers."""
    raw = list(message.get("headers", ()))
    for name, _ in raw:
        lowered = name.lower()
        if lowered == b"cache-control" or lowered == b"vary":  # noqa: PLR1714 (hot path)
            break
    else:  # the usual case: neither header yet
        message["headers"] = [*raw, *PRIVATE_HEADERS]
        return
    headers = [
        (name, value) for name, value in raw if name.lower() not in (b"cache-control", b"vary")
    ]
    vary = [value.decode("latin-1") for name, value in raw if name.lower() == b"vary"]
    headers.append(_CACHE_CONTROL_RAW)
    headers.append((b"vary", merged_vary(vary).encode("latin-1")))
    message["headers"] = headers


def merged_vary(values: Iterable[str]) -> str:
    """The names of ``Vary`` headers ``values`` and the gate's, each once (compared
    ignoring case, the first spelling kept), in one header value.

    >>> merged_vary(["accept-encoding, Accept", "ACCEPT"])
    'accept-encoding, Accept, Cookie, Authorization'
    """
    names: dict[str, str] = {}
    for value in (*values, _VARY_TEXT):
        for part in value.split(","):
            name = part.strip()
            if name:
                names.setdefault(name.lower(), name)
    return ", ".join(names.values())


def is_same_origin_path(value: str) -> bool:
    """Whether ``value`` is a path on this site (``/page?x=1``) that no browser reads as
    another site's: one leading ``/``, no ``\\``, no control or space characters.

    >>> [is_same_origin_path(v) for v in ("/auth/login", "//evil.example", "/\\\\evil", "https://x")]
    [True, False, False, False]
    """
    return (
        value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and not any(ord(character) <= 0x20 or ord(character) == 0x7F for character in value)
        and not urlsplit(value).netloc
    )


def login_redirect(conn: HTTPConnection, login_url: str) -> str:
    """``login_url`` with ``next`` set to this request's path and query (kept on this site)."""
    path = "/" + conn.scope["path"].lstrip("/")
    query = conn.scope.get("query_string", b"").decode("latin-1")
    target = path + (f"?{query}" if query else "")
    if not is_same_origin_path(target):
        target = "/"
    joiner = "&" if "?" in login_url else "?"
    return f"{login_url}{joiner}{urlencode({'next': target})}"


def _page(verdict: Verdict, login_url: str) -> str:
    extra = ""
    if verdict.outcome is Outcome.INSUFFICIENT_TOKENS:
        extra = f'<p>The rule: <code class="rule">{escape(verdict.rule.to_expr())}</code></p>\n'
    elif verdict.status == 401 and login_url:
        extra = f'<p><a href="{escape(login_url)}">Log in with Tokenpass</a></p>\n'
    elif verdict.status == 503:
        extra = f"<p>Try again in {RETRY_AFTER} seconds.</p>\n"
    title = _TITLES[verdict.outcome]
    return _PAGE.format(
        title=escape(title),
        code=escape(verdict.outcome.value),
        detail=escape(verdict.detail),
        extra=extra,
    )
