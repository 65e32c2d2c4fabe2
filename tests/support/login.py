"""Logging in with Tokenpass step by step, as the login tests drive it: the app under test
with the sandbox it logs in with, and the sandbox's consent page answered form by form."""

from __future__ import annotations

import dataclasses
import time
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx2

from tests.support.sandboxes import Sandbox

SESSION_SECRET = "test-session-secret"
#: A Tokenpass user as the provider's user endpoint writes it.
ALICE = {
    "id": "u-1",
    "username": "alice",
    "email": "alice@example.com",
    "name": "Alice",
    "email_is_confirmed": True,
}


class SettableClock:
    """The sandbox's clock, moved forward by tests to expire codes."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclasses.dataclass
class Site:
    """The app under test and the sandbox it logs in with."""

    app_url: str
    sandbox: Sandbox
    clock: SettableClock


class FormReader(HTMLParser):
    """A page's form as a browser would submit it: its action, fields and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = attributes.get("action", "")
        elif tag == "input" and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "button" and attributes.get("name"):
            self.buttons[attributes["value"]] = attributes["name"]


def consent(
    client: httpx2.Client, site: Site, username: str, decision: str = "grant", **params: str
) -> str:
    """Begin at the app's login, sign in on the sandbox's page and press ``decision``.

    Returns the URL the sandbox sends the browser back to (the app's callback).
    """
    start = client.get(f"{site.app_url}/auth/login", params=params)
    assert start.status_code == 302, start.text
    page = client.get(start.headers["location"])
    assert page.status_code == 200, page.text
    form = FormReader()
    form.feed(page.text)
    assert form.action is not None
    assert {"username", "password"} <= form.fields.keys()
    fields = {
        **form.fields,
        "username": username,
        "password": site.sandbox.password_of(username),
        form.buttons[decision]: decision,
    }
    answer = client.post(urljoin(str(page.url), form.action), data=fields)
    assert answer.status_code == 302, answer.text
    callback: str = answer.headers["location"]
    assert callback.startswith(f"{site.app_url}/auth/callback?")
    return callback
