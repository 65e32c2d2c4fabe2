"""How the gate refuses: JSON for API clients, a page or a login redirect for browsers.

Every answer about a gated path is private to its user and never cached:
``Cache-Control: private, no-store`` and ``Vary: Accept, Cookie, Authorization``.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import Message

from tca_gate._negotiation import prefers_json

from ._verdict import Outcome, Verdict

CACHE_CONTROL = "private, no-store"
VARY = ("Accept", "Cookie", "Authorization")
#: Seconds a client is told to wait before asking again after a 503.
RETRY_AFTER = 5

_TITLES = {
    Outcome.UNAUTHENTICATED: "Log in first",
    Outcome.IDENTITY_ERROR: "Log in first",
    Outcome.UNKNOWN_HOLDER: "No token holdings found",
    Outcome.INSUFFICIENT_TOKENS: "Not enough tokens",
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
    """The answer to a refused request, negotiated by ``Accept``."""
    wants_json = prefers_json(conn.headers.get("accept", ""))
    is_page_load = conn.scope["type"] == "http" and conn.scope.get("method") in ("GET", "HEAD")
    if verdict.status == 401 and not wants_json and is_page_load and login_url:
        response: Response = RedirectResponse(_login_redirect(conn, login_url), status_code=303)
    elif wants_json or not _accepts_html(conn):
        response = JSONResponse(refusal_body(verdict), status_code=verdict.status)
    else:
        response = HTMLResponse(_page(verdict, login_url), status_code=verdict.status)
    if verdict.status == 401:
        response.headers["WWW-Authenticate"] = f'Tokenpass login="{login_url or "/"}"'
    if verdict.status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER)
    mark_private(response.headers)
    return response


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
    """Make a response private and uncacheable, varying by who asks."""
    headers["Cache-Control"] = CACHE_CONTROL
    present = {part.strip().lower() for part in headers.get("vary", "").split(",") if part.strip()}
    for name in VARY:
        if name.lower() not in present:
            headers.append("Vary", name)


def mark_private_message(message: Message) -> None:
    """``mark_private`` on an ASGI ``http.response.start`` message."""
    mark_private(MutableHeaders(scope=message))


def _accepts_html(conn: HTTPConnection) -> bool:
    accept = conn.headers.get("accept", "")
    return not accept or "text/html" in accept or "*/*" in accept


def _login_redirect(conn: HTTPConnection, login_url: str) -> str:
    target = conn.url.path + (f"?{conn.url.query}" if conn.url.query else "")
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
