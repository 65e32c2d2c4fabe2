"""One content negotiation rule for every answer: a page only for a client that asks for
``text/html`` by name, JSON for ``*/*``, no ``Accept`` and API clients. The rule alone,
then the login's failure and the gate's refusal over loopback, which must agree."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from tca_gate.balances import StaticBalances
from tca_gate.gate import Gate, TcaGateMiddleware
from tca_gate.login import TokenpassLogin
from tca_gate.wire.negotiation import wants_html
from tests.support.servers import serve

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("TEXT/HTML; Q=0.5", True),
        ("text/html;q=0.9, application/json;q=0.9", True),
        ("", False),
        ("*/*", False),
        ("text/*", False),
        ("application/json", False),
        ("application/json, text/html;q=0.9", False),
        ("text/html;q=0.1, application/json;q=0.2", False),
        ("text/html;q=0", False),
        ("application/json;q=0, text/html;q=0", False),
        ("text/html;q=nonsense", False),
        ("application/json;q=nonsense, text/html;q=0.1", True),
        ("application/xml, */*", False),
    ],
)
def test_the_rule(accept: str, html: bool) -> None:
    assert wants_html(accept) is html


#: What each client sends, and whether it gets a page: (headers, page?).
CLIENTS = {
    "*/*": ({"Accept": "*/*"}, False),
    "none": ({}, False),
    "browser": ({"Accept": BROWSER}, True),
    "json": ({"Accept": "application/json"}, False),
}


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """A gated page and the login's routes, under uvicorn on loopback."""
    gate = Gate(StaticBalances({"users": {}}), login_url="/auth/login")
    login = TokenpassLogin("http://127.0.0.1:9", "app-id", "app-secret")
    app = Starlette(
        routes=[
            Route("/members", lambda request: PlainTextResponse("in"), methods=["POST"]),
            Mount("/auth", routes=login.routes),
        ],
        middleware=[
            Middleware(SessionMiddleware, secret_key="test-session-secret"),
            Middleware(TcaGateMiddleware, gate=gate, rules={"/members": "TOKENLY >= 1"}),
        ],
    )
    with serve(app) as url:
        yield url


def _client(headers: dict[str, str]) -> httpx2.Client:
    """A client sending exactly ``headers``'s ``Accept``, or none at all."""
    client = httpx2.Client(timeout=10)
    del client.headers["accept"]
    client.headers.update(headers)
    return client


def _is_page(response: httpx2.Response) -> bool:
    kind = response.headers["content-type"]
    assert kind.startswith(("text/html", "application/json")), kind
    return kind.startswith("text/html")


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_failed_login_answers_by_the_rule(app_url: str, client: str) -> None:
    headers, page = CLIENTS[client]
    with _client(headers) as http:
        sent = http.request("GET", f"{app_url}/auth/callback", params={"state": "forged"})
    assert sent.request.headers.get("accept") == headers.get("Accept")
    assert sent.status_code == 400
    assert _is_page(sent) is page
    if not page:
        assert sent.json()["error"] == "invalid_state"


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_the_gates_refusal_answers_by_the_same_rule(app_url: str, client: str) -> None:
    headers, page = CLIENTS[client]
    with _client(headers) as http:
        sent = http.post(f"{app_url}/members")  # a POST: a browser gets the page, not a 303
    assert sent.request.headers.get("accept") == headers.get("Accept")
    assert sent.status_code == 401
    assert _is_page(sent) is page
    if not page:
        assert sent.json()["error"] == "unauthenticated"
