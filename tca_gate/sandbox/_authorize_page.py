"""The HTML of the authorize page: one form to log in and grant, or to deny."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

#: The OAuth parameters the form carries back unchanged.
CARRIED = (
    "client_id",
    "redirect_uri",
    "scope",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
)

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}"
    "label{display:block;margin:.6rem 0}input[type=text],input[type=password]{width:100%}"
    ".error{color:#b00020}button{margin-right:.5rem}"
)


def authorize_page(
    app_name: str, fields: Mapping[str, str], scope: str, problem: str | None = None
) -> str:
    """The login-and-consent page for ``app_name`` asking for the comma-joined ``scope``."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(fields[name])}">'
        for name in CARRIED
        if name in fields
    )
    scopes = "".join(f"<li>{escape(item)}</li>" for item in scope.split(",") if item)
    error = f'<p class="error" role="alert">{escape(problem)}</p>' if problem else ""
    username = escape(fields.get("username", ""))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Authorize {escape(app_name)} - tca-gate sandbox</title><style>{_STYLE}</style>"
        f"</head><body><h1>Authorize {escape(app_name)}</h1>"
        f"<p>{escape(app_name)} asks for access to your Tokenpass account:</p><ul>{scopes}</ul>"
        f'{error}<form method="post" action="/oauth/authorize">{hidden}'
        f'<label>Username <input type="text" name="username" value="{username}"'
        ' autocomplete="username"></label>'
        '<label>Password <input type="password" name="password"'
        ' autocomplete="current-password"></label>'
        '<button type="submit" name="decision" value="grant">Grant</button>'
        '<button type="submit" name="decision" value="deny">Deny</button>'
        "</form><p><small>tca-gate sandbox: not the real Tokenpass.</small></p></body></html>"
    )


def error_page(problem: str) -> str:
    """A page for an authorize request that cannot be sent back to the app."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Authorization error - tca-gate sandbox</title></head><body>"
        f'<h1>Authorization error</h1><p class="error">{escape(problem)}</p></body></html>'
    )
