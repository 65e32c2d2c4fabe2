"""``requires_tokens``: one Starlette endpoint guarded by a rule, sync or async, HTTP or
websocket, with the gate passed in, found from the middleware or on ``app.state``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from tca_gate import RuleSyntaxError
from tca_gate.balances import CachedBalances, Holder, StaticBalances
from tca_gate.gate import Gate, GateConfigError, TcaGateMiddleware, requires_tokens
from tca_gate.gate._middleware import STATE_KEY
from tests.support.asgi import open_socket

SAT = 100_000_000
HOLDINGS = {
    "users": {
        "alice": {"public": {"TOKENLY": 2 * SAT}},
        "bob": {"public": {"LTBCOIN": 8_800 * SAT}},
    }
}
JSON = {"accept": "application/json"}
BROWSER = {"accept": "text/html,*/*;q=0.8"}


def by_header(conn: HTTPConnection) -> Holder | None:
    name = conn.headers.get("x-user")
    return Holder.user(name) if name else None


GATE = Gate(CachedBalances(StaticBalances(HOLDINGS)), identity=by_header)


def summary(conn: HTTPConnection, kind: str) -> dict[str, Any]:
    verdict = conn.scope["state"][STATE_KEY]
    return {"kind": kind, "outcome": verdict.outcome.value, "scopes": conn.scope["auth"].scopes}


@requires_tokens("TOKENLY >= 1", gate=GATE, name="members")
async def async_page(request: Request) -> Response:
    return JSONResponse(summary(request, "async"))


@requires_tokens("TOKENLY >= 1", gate=GATE)
def sync_page(request: Request) -> Response:
    return JSONResponse(summary(request, "sync"))


@requires_tokens("LTBCOIN >= 1", gate=GATE, redirect="/sign-in")
async def redirecting(request: Request) -> Response:
    return PlainTextResponse("in")


@requires_tokens("LTBCOIN >= 1", gate=GATE, redirect="sign_in")
async def redirecting_by_name(request: Request) -> Response:
    return PlainTextResponse("in")


@requires_tokens("LTBCOIN >= 1", gate=GATE, redirect="no_such_route")
async def redirecting_nowhere(request: Request) -> Response:
    return PlainTextResponse("in")


@requires_tokens("TOKENLY >= 1", gate=GATE, name="socket")
async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(summary(websocket, "websocket"))
    await websocket.close()


class Methods(HTTPEndpoint):
    @requires_tokens("TOKENLY >= 1", gate=GATE)
    async def get(self, request: Request) -> Response:
        return JSONResponse(summary(request, "method"))


async def sign_in(request: Request) -> Response:
    return PlainTextResponse("sign in")


def public_answer(request: Request) -> Response:
    return PlainTextResponse("x", headers={"Cache-Control": "public, max-age=60"})


ROUTES: list[BaseRoute] = [
    Route("/async", async_page),
    Route("/sync", sync_page),
    Route("/redirecting", redirecting),
    Route("/redirecting-by-name", redirecting_by_name),
    Route("/redirecting-nowhere", redirecting_nowhere),
    Route("/method", Methods),
    Route("/sign-in", sign_in, name="sign_in"),
    Route("/public", requires_tokens("TOKENLY >= 1", gate=GATE)(public_answer)),
    WebSocketRoute("/socket", socket),
]
APP = Starlette(routes=ROUTES)


def call(
    app: Starlette,
    path: str,
    user: str | None = None,
    accept: Mapping[str, str] = JSON,
    *,
    raise_app_exceptions: bool = True,
) -> httpx2.Response:
    headers = {**accept, **({"x-user": user} if user else {})}

    async def go() -> httpx2.Response:
        transport = httpx2.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("path", "kind"), [("/async", "async"), ("/sync", "sync"), ("/method", "method")]
)
def test_sync_async_and_method_endpoints_run_only_for_holders_who_pass(
    path: str, kind: str
) -> None:
    allowed = call(APP, path, "alice")
    assert allowed.status_code == 200
    assert allowed.json()["kind"] == kind
    assert allowed.json()["outcome"] == "allowed"
    assert allowed.headers["cache-control"] == "private, no-store"
    refused = call(APP, path, "bob")
    assert (refused.status_code, refused.json()["error"]) == (403, "insufficient-tokens")
    assert refused.json()["detail"] == "Needs 1 TOKENLY."
    assert refused.headers["cache-control"] == "private, no-store"
    assert call(APP, path).status_code == 401


def test_an_allowed_request_gets_the_tca_scopes() -> None:
    assert call(APP, "/async", "alice").json()["scopes"] == ["tca", "tca:members"]
    assert call(APP, "/sync", "alice").json()["scopes"] == ["tca"]


def test_the_endpoints_own_caching_is_made_private() -> None:
    response = call(APP, "/public", "alice")
    assert response.headers.get_list("cache-control") == ["private, no-store"]
    assert "Cookie" in response.headers["vary"]


def test_browsers_without_a_login_go_to_the_login_page_or_the_chosen_redirect() -> None:
    app = Starlette(routes=[*ROUTES, Route("/login-here", sign_in)])
    default = Gate(StaticBalances(HOLDINGS), identity=by_header, login_url="/login-here")
    app.state.tca_gate = default

    @requires_tokens("TOKENLY >= 1")
    async def found_on_state(request: Request) -> Response:
        return PlainTextResponse("in")

    app.router.routes.append(Route("/state", found_on_state))
    assert call(app, "/state", accept=BROWSER).headers["location"] == "/login-here?next=%2Fstate"
    assert call(app, "/redirecting", accept=BROWSER).headers["location"] == (
        "/sign-in?next=%2Fredirecting"
    )
    assert call(app, "/redirecting-by-name", accept=BROWSER).headers["location"] == (
        "/sign-in?next=%2Fredirecting-by-name"
    )
    with pytest.raises(GateConfigError, match="names no route of the app"):
        call(app, "/redirecting-nowhere", accept=BROWSER)


@pytest.mark.parametrize(
    "redirect",
    [
        "https://evil.example/login",
        "//evil.example/login",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "",
        "sign in",
    ],
)
def test_a_redirect_off_the_site_is_refused_when_decorating(redirect: str) -> None:
    with pytest.raises(GateConfigError, match="redirect must be a route name or a path"):
        requires_tokens("TOKENLY >= 1", redirect=redirect)


def test_a_bad_rule_fails_at_import_time() -> None:
    with pytest.raises(RuleSyntaxError):
        requires_tokens("TOKENLY >= lots")


def test_an_endpoint_without_a_request_argument_is_refused() -> None:
    def endpoint(thing: object) -> Response:
        return PlainTextResponse("x")

    with pytest.raises(GateConfigError, match='take a "request" or "websocket" argument'):
        requires_tokens("TOKENLY >= 1")(endpoint)


def test_the_gate_is_found_from_the_middleware() -> None:
    @requires_tokens("LTBCOIN >= 1")
    async def endpoint(request: Request) -> Response:
        return JSONResponse(summary(request, "from the middleware"))

    middleware = [Middleware(TcaGateMiddleware, gate=GATE, rules={"/other": "XCP >= 1"})]
    app = Starlette(
        routes=[Route("/here", endpoint), Route("/other", endpoint)], middleware=middleware
    )
    assert call(app, "/here", "bob").json()["kind"] == "from the middleware"
    assert call(app, "/here", "alice").status_code == 403


def test_no_gate_anywhere_is_an_error_never_an_allow() -> None:
    @requires_tokens("LTBCOIN >= 1")
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("in")

    app = Starlette(routes=[Route("/here", endpoint)])
    with pytest.raises(GateConfigError, match="found no Gate"):
        call(app, "/here", "bob")
    assert call(app, "/here", "bob", raise_app_exceptions=False).status_code == 500


def test_shadow_mode_lets_the_endpoint_run() -> None:
    shadow = Gate(StaticBalances(HOLDINGS), identity=by_header, shadow=True)

    @requires_tokens("TOKENLY >= 1", gate=shadow)
    async def endpoint(request: Request) -> Response:
        verdict = request.state.tca_gate
        return JSONResponse({"outcome": verdict.outcome.value, "shadow": verdict.shadow})

    app = Starlette(routes=[Route("/shadowed", endpoint)])
    assert call(app, "/shadowed", "bob").json() == {
        "outcome": "insufficient-tokens",
        "shadow": True,
    }


def test_a_guarded_websocket_is_accepted_or_refused_before_accepting() -> None:
    allowed = asyncio.run(open_socket(APP, "/socket", "alice"))
    assert allowed[0]["type"] == "websocket.accept"
    assert json.loads(allowed[1]["text"])["scopes"] == ["tca", "tca:socket"]
    refused = asyncio.run(open_socket(APP, "/socket", "bob"))
    assert refused[0]["type"] == "websocket.http.response.start"
    assert refused[0]["status"] == 403
    assert all(message["type"] != "websocket.accept" for message in refused)
    nobody = asyncio.run(open_socket(APP, "/socket", None))
    assert nobody[0]["status"] == 401
