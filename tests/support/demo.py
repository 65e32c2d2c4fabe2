"""The web demo as a user meets it: logged in through the sandbox's login page, and the
text of an element of the page it shows."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import httpx2

from tca_gate.demo import DemoServer
from tests.support.browsing import HTML, log_in


@contextlib.contextmanager
def logged_in(demo: DemoServer, username: str) -> Iterator[httpx2.Client]:
    """A client with ``username``'s login, made through the sandbox's login page."""
    with httpx2.Client(base_url=demo.url, headers=HTML) as http:
        password = demo.sandbox.password_of(username)
        home = log_in(http, f"{demo.url}/auth/login", username, password)
        assert (home.url.path, home.status_code) == ("/", 200)
        assert text_of(home, "who") == f"Logged in as {username}"
        yield http


def text_of(response: httpx2.Response, element_id: str) -> str:
    """The text of the element with ``element_id`` (tags dropped, spaces collapsed)."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(p|span|h1|main)>', response.text, re.S)
    assert found is not None, f"no #{element_id} in {response.text}"
    return " ".join(re.sub(r"<[^>]+>", "", found[1]).split())
