"""``tca_gate.fastapi.require_tokens``: a FastAPI dependency raising 401/403/503 and
shown in the OpenAPI document as a security requirement."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Annotated, Any

import httpx2
import pytest
from fastapi import Depends, FastAPI, Request, Security, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection

from tca_gate.balances import BalanceUnavailableError, CachedBalances, Holder, StaticBalances
from tca_gate.fastapi import TokenRefusal, require_tokens
from tca_gate.gate import Gate, GateConfigError, TcaGateMiddleware, Verdict
from tests.support.asgi import open_socket
from tests.support.servers import serve

SAT = 100_000_000
HOLDINGS = {
    "users": {
        "alice": {"public": {"TOKENLY": 2 * SAT}},
        "bob": {"public": {"LTBCOIN": 8_800 * SAT}},
    }
}
MEMBERS = "TOKENLY >= 1 or LTBCOIN >= 10000"


def by_header(conn: HTTPConnection) -> Holder | None:
    name = conn.headers.get("x-user")
    return Holder.user(name) if name else None


class Down:
    async def balances(self, holder: Holder) -> Mapping[str, int]:
        raise BalanceUnavailableError("Tokenpass is down")


members_only = require_tokens(MEMBERS, name="members")
Members = Annotated[Verdict, Depends(members_only)]


def make_app(gate: Gate | None = None, *, on_state: bool = True) -> FastAPI:
    app = FastAPI()
    if on_state:
        app.state.tca_gate = gate or Gate(
            CachedBalances(StaticBalances(HOLDINGS)), identity=by_header
        )

    @app.get("/members")
    async def members(verdict: Members) -> dict[str, Any]:
        return {
            "holder": str(verdict.holder.value) if verdict.holder else None,
            "reason": verdict.reason,
        }

    @app.get("/sync-members")
    def sync_members(verdict: Members) -> dict[str, str]:
        return {"reason": verdict.reason}

    @app.get("/secured", dependencies=[Security(require_tokens("TOKENLY >= 1"))])
    async def secured() -> dict[str, bool]:
        return {"in": True}

    @app.get("/public")
    async def public() -> dict[str, bool]:
        return {"public": True}

    @app.get("/own-response")
    async def own_response(verdict: Members) -> PlainTextResponse:
        return PlainTextResponse("mine", headers={"Cache-Control": "public, max-age=60"})

    @app.websocket("/ws")
    async def socket(websocket: WebSocket, verdict: Members) -> None:
        await websocket.accept()
        await websocket.send_json({"reason": verdict.reason})
        await websocket.close()

    return app


def get(
    app: FastAPI, path: str, user: str | None = None, *, raise_app_exceptions: bool = True
) -> httpx2.Response:
    async def go() -> httpx2.Response:
        transport = httpx2.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path, headers={"x-user": user} if user else {})

    return asyncio.run(go())


APP = make_app()


@pytest.mark.parametrize("path", ["/members", "/sync-members"])
def test_the_route_runs_for_holders_who_pass_with_the_verdict(path: str) -> None:
    response = get(APP, path, "alice")
    assert response.status_code == 200
    assert response.json()["reason"] == "allowed"
    assert response.headers["cache-control"] == "private, no-store"
    assert {"Accept", "Cookie", "Authorization"} <= {
        part.strip() for part in response.headers["vary"].split(",")
    }


def test_a_refusal_is_a_403_with_the_gates_explanation_flat_as_the_middlewares() -> None:
    response = get(APP, "/members", "bob")
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "insufficient-tokens"
    assert body["detail"] == "Needs 1 TOKENLY, or 1,200 more LTBCOIN."
    assert body["decision"]["allowed"] is False
    assert set(body) == {"error", "detail", "rule", "rule_hash", "decision"}
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers.get_list("vary") == ["Accept, Cookie, Authorization"]


def test_no_login_is_a_401_with_www_authenticate() -> None:
    response = get(APP, "/members")
    assert response.status_code == 401
    assert response.json() == {"error": "unauthenticated", "detail": "Log in to see this page."}
    assert response.headers["www-authenticate"] == 'Tokenpass login="/auth/login"'


def test_unreadable_balances_are_a_503_with_retry_after() -> None:
    app = make_app(Gate(CachedBalances(Down()), identity=by_header))
    response = get(app, "/members", "alice")
    assert response.status_code == 503
    assert response.json()["error"] == "balances-unavailable"
    assert response.headers["retry-after"] == "5"


def test_a_failing_resolver_is_a_401() -> None:
    def broken(conn: HTTPConnection) -> Holder | None:
        raise RuntimeError("down")

    response = get(make_app(Gate(StaticBalances(HOLDINGS), identity=broken)), "/members", "alice")
    assert (response.status_code, response.json()["error"]) == (401, "identity-error")


def test_security_dependencies_guard_too() -> None:
    assert get(APP, "/secured", "alice").json() == {"in": True}
    assert get(APP, "/secured", "bob").status_code == 403


def test_the_openapi_document_shows_the_security_requirement() -> None:
    document = APP.openapi()
    scheme = document["components"]["securitySchemes"]["TokenpassLogin"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "cookie", "session")
    assert "401 without a login" in scheme["description"]
    for path in ("/members", "/secured", "/sync-members"):
        assert document["paths"][path]["get"]["security"] == [{"TokenpassLogin": []}]
    assert "security" not in document["paths"]["/public"]["get"]


def test_the_gate_is_found_from_the_middleware_or_passed_in() -> None:
    gate = Gate(StaticBalances(HOLDINGS), identity=by_header)
    app = make_app(on_state=False)
    app.user_middleware.append(Middleware(TcaGateMiddleware, gate=gate, rules={}))
    assert get(app, "/members", "alice").status_code == 200
    assert get(app, "/members", "bob").status_code == 403

    direct = FastAPI()

    guard = Depends(require_tokens("TOKENLY >= 1", gate=gate))

    @direct.get("/vip")
    async def vip(verdict: Verdict = guard) -> str:
        return verdict.reason

    assert get(direct, "/vip", "alice").json() == "allowed"
    assert get(direct, "/vip", "bob").status_code == 403


def test_no_gate_is_an_error_never_an_allow() -> None:
    app = make_app(on_state=False)
    with pytest.raises(GateConfigError, match="found no Gate"):
        get(app, "/members", "alice")
    assert get(app, "/members", "alice", raise_app_exceptions=False).status_code == 500


def test_shadow_mode_lets_the_route_run() -> None:
    app = make_app(Gate(StaticBalances(HOLDINGS), identity=by_header, shadow=True))
    response = get(app, "/members", "bob")
    assert response.json()["reason"] == "insufficient-tokens"


def test_a_route_returning_its_own_response_keeps_its_headers() -> None:
    # documented: FastAPI does not merge a dependency's headers into a returned Response,
    # so such a route keeps the headers it chose (docs/gating.md says to set them yourself)
    response = get(APP, "/own-response", "alice")
    assert response.text == "mine"
    assert response.headers["cache-control"] == "public, max-age=60"
    assert get(APP, "/own-response", "bob").status_code == 403


def test_a_websocket_route_is_guarded_before_it_accepts() -> None:
    allowed = asyncio.run(open_socket(APP, "/ws", "alice", denial=False))
    assert allowed[0]["type"] == "websocket.accept"
    assert json.loads(allowed[1]["text"]) == {"reason": "allowed"}
    for user in ("bob", None):
        refused = asyncio.run(open_socket(APP, "/ws", user, denial=False))
        assert refused[0]["type"] == "websocket.close"
        assert refused[0]["code"] == 1008
        assert all(message["type"] != "websocket.accept" for message in refused)


BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_refusals_served_by_uvicorn_read_as_the_gates_everywhere() -> None:
    """Flat JSON for API clients, the gate's page for browsers, and ``on_refusal``
    answering FastAPI's refusals as it answers the middleware's."""

    async def own(request: HTTPConnection, verdict: Verdict) -> Response | None:
        if verdict.status == 503:
            return PlainTextResponse("back soon", status_code=503)
        return None

    with serve(make_app()) as url:
        refused = httpx2.get(f"{url}/members", headers={"x-user": "bob"})
        page = httpx2.get(f"{url}/members", headers={"x-user": "bob", **BROWSER})
        login = httpx2.get(f"{url}/members", headers=BROWSER)
    with serve(make_app(Gate(Down(), identity=by_header, on_refusal=own))) as url:
        down = httpx2.get(f"{url}/members", headers={"x-user": "alice"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Needs 1 TOKENLY, or 1,200 more LTBCOIN."
    assert refused.json()["decision"]["allowed"] is False
    assert (page.status_code, page.headers["content-type"]) == (403, "text/html; charset=utf-8")
    assert 'data-outcome="insufficient-tokens"' in page.text
    assert (login.status_code, login.headers["location"]) == (303, "/auth/login?next=%2Fmembers")
    assert (down.status_code, down.text) == (503, "back soon")
    assert down.headers["cache-control"] == "private, no-store"


def test_an_apps_own_handler_for_token_refusals_is_kept() -> None:
    app = make_app()

    @app.exception_handler(TokenRefusal)
    async def mine(request: Request, error: TokenRefusal) -> JSONResponse:
        return JSONResponse({"no": error.verdict.reason}, status_code=error.status_code)

    response = get(app, "/members", "bob")
    assert (response.status_code, response.json()) == (403, {"no": "insufficient-tokens"})
