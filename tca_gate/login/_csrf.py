"""CSRF protection for state-changing POSTs: one random token per session.

A page puts ``csrf_token(request)`` in its forms (``csrf_field`` writes the hidden
input) or a script sends it as the ``X-CSRF-Token`` header; ``check_csrf`` compares
what came back with the session's copy in constant time. Another site can make a
browser send the session cookie, but cannot read the token to send with it.

>>> CSRF_FIELD, CSRF_HEADER
('csrf_token', 'X-CSRF-Token')
"""

from __future__ import annotations

import hmac
import secrets
from html import escape
from urllib.parse import parse_qsl

from starlette.requests import HTTPConnection, Request

from tca_gate.errors import LoginError

from ._session import session_of

#: The form field and the header that carry the token back.
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: The session key of the session's token.
CSRF_KEY = "tca_gate.csrf"
#: The largest form read when looking for the token (bytes).
MAX_FORM = 1024 * 1024
_MAX_FIELDS = 1000


def csrf_token(conn: HTTPConnection) -> str:
    """The session's CSRF token, made on first use; needs ``SessionMiddleware``."""
    session = session_of(conn)
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def csrf_field(conn: HTTPConnection) -> str:
    """The hidden ``<input>`` that carries the session's CSRF token in a form."""
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf_token(conn))}">'


def renew_csrf_token(conn: HTTPConnection) -> None:
    """Give the session a new token (on login and logout), so none outlives its login."""
    session_of(conn).pop(CSRF_KEY, None)


async def check_csrf(request: Request) -> None:
    """Pass when the request carries the session's CSRF token (header or form field);
    else a ``LoginError`` ``invalid_csrf`` (403). Reading the form leaves it readable."""
    expected = session_of(request).get(CSRF_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        sent = await _form_token(request)
    if (
        not isinstance(expected, str)
        or not expected
        or not isinstance(sent, str)
        or not hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))
    ):
        raise LoginError(
            "invalid_csrf",
            "This form is out of date or did not come from this site: reload the page and "
            "try again.",
            403,
        )


async def _form_token(request: Request) -> str | None:
    """The token field of a form body of at most ``MAX_FORM`` bytes: an urlencoded one
    read as is (no form library needed), a multipart one through Starlette's parser."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_FORM:
        return None
    if kind == "application/x-www-form-urlencoded":
        body = (await request.body()).decode("latin-1")
        try:
            fields = parse_qsl(body, max_num_fields=_MAX_FIELDS)
        except ValueError:  # more fields than any form of ours has
            return None
        return next((value for name, value in fields if name == CSRF_FIELD), None)
    if kind == "multipart/form-data":
        form = await request.form(max_files=0, max_part_size=MAX_FORM)
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None
