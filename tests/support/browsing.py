"""Logging in as a browser would: cookies kept as on loopback, and the sandbox's login page
filled in and granted (the docs' examples, the example apps and the demo all log in so)."""

from __future__ import annotations

import urllib.request
from html.parser import HTMLParser
from http.cookiejar import CookieJar, DefaultCookiePolicy
from urllib.parse import urljoin

import httpx2

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


class LoginForm(HTMLParser):
    """The sandbox's authorize form: its action and hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = found.get("action", "")
        elif tag == "input" and found.get("type") == "hidden":
            self.fields[found["name"]] = found.get("value", "")


def browser(url: str) -> httpx2.Client:
    """A client that sends cookies as a browser does on loopback, a secure context where
    ``Secure`` cookies (the recipe's ``https_only`` session) go over plain HTTP too."""
    jar = CookieJar(DefaultCookiePolicy(secure_protocols=("https", "wss", "http")))

    def send_cookies(request: httpx2.Request) -> None:  # httpx2's own would leave them out
        asked = urllib.request.Request(str(request.url))
        jar.add_cookie_header(asked)
        request.headers.pop("cookie", None)
        if asked.has_header("Cookie"):
            request.headers["cookie"] = asked.get_header("Cookie", "")

    return httpx2.Client(
        base_url=url, cookies=jar, headers=HTML, event_hooks={"request": [send_cookies]}
    )


def log_in(http: httpx2.Client, start: str, username: str, password: str) -> httpx2.Response:
    """Follow ``start`` (a login link or a gated page) to the sandbox's authorize page, log
    in there as a browser would and grant; the page the app finally sends back."""
    page = http.get(start, headers=HTML, follow_redirects=True)
    assert page.url.path == "/oauth/authorize", (page.status_code, page.text)
    form = LoginForm()
    form.feed(page.text)
    fields = {**form.fields, "username": username, "password": password, "decision": "grant"}
    action = urljoin(str(page.url), form.action)
    return http.post(action, data=fields, headers=HTML, follow_redirects=True)
