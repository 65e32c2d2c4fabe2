"""How a failed login answers: a short HTML page for browsers, JSON for API clients (and
for ``*/*`` or no ``Accept``: ``tca_gate.wire.negotiation``)."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from tca_gate.errors import LoginError
from tca_gate.wire.negotiation import wants_html

_NO_STORE = {"Cache-Control": "no-store"}
_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Tokenpass login failed</title></head>
<body>
<h1>Tokenpass login failed</h1>
<p>{description}</p>
<p><small>Error: {code}</small></p>
<p><a href="login">Try again</a></p>
</body>
</html>
"""


def error_response(request: Request, error: LoginError) -> Response:
    """``error`` as ``{"error", "error_description"}`` JSON or as an HTML page, by ``Accept``."""
    if wants_html(request.headers.get("accept", "")):
        page = _PAGE.format(description=escape(error.description), code=escape(error.code))
        return HTMLResponse(page, status_code=error.status, headers=_NO_STORE)
    body = {"error": error.code, "error_description": error.description}
    return JSONResponse(body, status_code=error.status, headers=_NO_STORE)
