"""``TcaGateMiddleware`` in real Starlette apps, called in-process (httpx2's ASGI transport;
websockets by ASGI messages): what passes untouched, what is judged, how refusals read
for browsers and API clients, what the app sees, and which headers keep answers private.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    SimpleUser,
    requires,
)
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket

from tca_gate import compile_rule
from tca_gate.balances import BalanceUnavailableError, CachedBalances, Holder, StaticBalances
from tca_gate.gate import (
    Gate,
    GateConfigError,
    Outcome,
    TcaGateMiddleware,
    Verdict,
    auth_user_identity,
    login_identity,
)
from tca_gate.gate._middleware import STATE_KEY
from tca_gate.login import TokenpassUser
from tca_gate.login._session import store_login
from tests.support.asgi import open_socket

SAT = 100_000_000
MEMBERS = "TOKENLY >= 1 or LTBCOIN >= 10000"
HOLDINGS = {
    "users": {
        "alice": {
            "public": {"TOKENLY": 2 * SAT, "LTBCOIN": 12_500 * SAT},
            "protected": {"TOKENLY": 2 * SAT, "LTBCOIN": 12_500 * SAT},
        },
        "bob": {"public": {"LTBCOIN": 8_800 * SAT}, "protected": {"LTBCOIN": 8_800 * SAT}},
        "carol": {},
    },
    "tokens": {"alice-token": "alice", "bob-token": "bob"},
}
JSON = {"accept": "application/json"}
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


class HeaderAuth(AuthenticationBackend):
    """``X-User`` names the user (Starlette's ``request.user``)."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        name = conn.headers.get("x-user")
        return (AuthCredentials(["authenticated"]), SimpleUser(name)) if name else None


def seen(conn: HTTPConnection) -> dict[str, Any]:
    """What the endpoint sees: the verdict on ``request.state`` and the auth scopes."""
    verdict = conn.scope.get("state", {}).get(STATE_KEY)
    auth = conn.scope.get("auth")
    return {
        "path": conn.url.path,
        "outcome": None if verdict is None else verdict.outcome.value,
        "shadow": None if verdict is None else verdict.shadow,
        "holder": None if verdict is None or verdict.holder is None else repr(verdict.holder),
        "scopes": None if auth is None else auth.scopes,
    }


async def show(request: Request) -> Response:
    return JSONResponse(seen(request))


async def cached_publicly(request: Request) -> Response:
    return PlainTextResponse(
        "cacheable?", headers={"Cache-Control": "public, max-age=600", "Vary": "Accept-Encoding"}
    )


@requires("tca:lounge")
async def lounge(request: Request) -> Response:
    return JSONResponse(seen(request))


async def echo_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(seen(websocket))
    await websocket.close()


ROUTES: list[BaseRoute] = [
    Route("/open", show),
    Route("/members", show, methods=["GET", "POST"], name="members"),
    Route("/lounge", lounge, name="lounge"),
    Route("/wrong-scope", lounge, name="wrong_scope"),
    Route("/vip/{rest:path}", show),
    Route("/users/{number:int}", show),
    Route("/cached", cached_publicly),
    Mount("/area", routes=[Route("/inner", show, name="inner")], name="area"),
    WebSocketRoute("/ws", echo_socket, name="ws"),
    WebSocketRoute("/ws-open", echo_socket),
]
RULES: dict[str, Any] = {
    "route:members": MEMBERS,
    "route:lounge": MEMBERS,
    "route:wrong_scope": {"rule": MEMBERS, "name": "other"},
    "/vip/free": "LTBCOIN >= 1",
    "/vip/{rest:path}": "TOKENLY >= 100",
    "/users/{number:int}": MEMBERS,
    "/cached": MEMBERS,
    "route:area:inner": {"rule": "TOKENLY >= 1", "name": "inner"},
    "route:ws": MEMBERS,
}


def make_app(
    gate: Gate | None = None,
    rules: Any = None,
    *,
    middleware: list[Middleware] | None = None,
    routes: list[BaseRoute] | None = None,
) -> Starlette:
    gate = gate or Gate(CachedBalances(StaticBalances(HOLDINGS)))
    stack = (
        middleware
        if middleware is not None
        else [Middleware(AuthenticationMiddleware, backend=HeaderAuth())]
    )
    return Starlette(
        routes=ROUTES if routes is None else routes,
        middleware=[
            *stack,
            Middleware(TcaGateMiddleware, gate=gate, rules=RULES if rules is None else rules),
        ],
    )


def call(
    app: Starlette, method: str, path: str, headers: Mapping[str, str] | None = None, **options: Any
) -> httpx2.Response:
    """One request to ``app``, in-process."""

    async def go() -> httpx2.Response:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, path, headers=headers, **options)

    return asyncio.run(go())


def get(
    app: Starlette, path: str, user: str | None = None, accept: Mapping[str, str] = JSON
) -> httpx2.Response:
    headers = dict(accept)
    if user:
        headers["x-user"] = user
    return call(app, "GET", path, headers)


def vary(response: httpx2.Response) -> set[str]:
    return {
        part.strip() for value in response.headers.get_list("vary") for part in value.split(",")
    }


def assert_private(response: httpx2.Response) -> None:
    assert response.headers.get_list("cache-control") == ["private, no-store"]
    assert {"Accept", "Cookie", "Authorization"} <= vary(response)


APP = make_app()


def test_an_ungated_path_passes_untouched() -> None:
    response = get(APP, "/open", "alice")
    assert response.status_code == 200
    assert response.json() == {
        "path": "/open",
        "outcome": None,
        "shadow": None,
        "holder": None,
        "scopes": ["authenticated"],
    }
    assert "cache-control" not in response.headers
    assert "vary" not in response.headers


def test_an_allowed_request_carries_its_verdict_and_scopes_and_is_private() -> None:
    response = get(APP, "/members", "alice")
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "allowed"
    assert body["holder"] == repr(Holder.user("alice"))
    assert body["scopes"] == ["authenticated", "tca", "tca:members"]
    assert_private(response)


def test_starlette_requires_works_with_the_gates_scopes() -> None:
    assert get(APP, "/lounge", "alice").json()["scopes"] == ["authenticated", "tca", "tca:lounge"]
    # passing another rule does not give this one's scope
    assert get(APP, "/wrong-scope", "alice").status_code == 403


def test_the_apps_own_caching_headers_are_overridden_on_gated_paths() -> None:
    response = get(APP, "/cached", "alice")
    assert response.text == "cacheable?"
    assert_private(response)
    assert "Accept-Encoding" in vary(response)


def test_a_rule_refusal_is_a_403_explained_in_json() -> None:
    response = get(APP, "/members", "bob")
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "insufficient-tokens"
    assert body["detail"] == "Needs 1 TOKENLY, or 1,200 more LTBCOIN."
    assert body["rule"] == MEMBERS
    assert body["rule_hash"] == compile_rule(MEMBERS).semantic_hash
    assert body["decision"]["allowed"] is False
    assert [group["passed"] for group in body["decision"]["groups"]] == [False, False]
    assert_private(response)


def test_a_rule_refusal_is_a_page_for_browsers() -> None:
    response = get(APP, "/members", "bob", BROWSER)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert 'data-outcome="insufficient-tokens"' in response.text
    assert "Needs 1 TOKENLY, or 1,200 more LTBCOIN." in response.text
    assert "TOKENLY &gt;= 1 or LTBCOIN &gt;= 10000" in response.text
    assert_private(response)


def test_a_holder_with_nothing_is_refused_with_what_they_need() -> None:
    response = get(APP, "/members", "carol")
    assert (response.status_code, response.json()["error"]) == (403, "insufficient-tokens")


@pytest.mark.parametrize(
    "accept", ["application/json", "*/*", "", "text/html;q=0.5, application/json"]
)
def test_no_login_is_a_401_in_json_for_api_clients(accept: str) -> None:
    response = get(APP, "/members?page=2", accept={"accept": accept} if accept else {})
    assert response.status_code == 401
    assert response.json() == {"error": "unauthenticated", "detail": "Log in to see this page."}
    assert response.headers["www-authenticate"] == 'Tokenpass login="/auth/login"'
    assert_private(response)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_browsers_without_a_login_are_sent_to_log_in_and_back(method: str) -> None:
    response = call(APP, method, "/members?page=2&x=%2F", BROWSER)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/login?next=%2Fmembers%3Fpage%3D2%26x%3D%252F"
    assert_private(response)


def test_a_browser_posting_without_a_login_gets_a_page_with_the_login_link() -> None:
    response = call(APP, "POST", "/members", BROWSER)
    assert response.status_code == 401
    assert '<a href="/auth/login">Log in with Tokenpass</a>' in response.text


def test_the_login_redirect_never_leaves_the_site() -> None:
    gate = Gate(StaticBalances(HOLDINGS), login_url="/login?app=1")
    verdict = Verdict(Outcome.UNAUTHENTICATED, compile_rule(MEMBERS))
    for path, expected in [
        ("//evil.example/x", "/login?app=1&next=%2Fevil.example%2Fx"),
        ("/a\tb", "/login?app=1&next=%2F"),
        ("/ok", "/login?app=1&next=%2Fok"),
    ]:
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "query_string": b"",
            "headers": [(b"accept", b"text/html")],
        }
        response = gate.deny_response(HTTPConnection(scope), verdict)
        assert response.headers["location"] == expected


def test_balances_that_cannot_be_read_are_a_503_with_retry_after() -> None:
    class Down:
        async def balances(self, holder: Holder) -> Mapping[str, int]:
            raise BalanceUnavailableError("Tokenpass is down")

    app = make_app(Gate(CachedBalances(Down())))
    response = get(app, "/members", "alice")
    assert (response.status_code, response.json()["error"]) == (503, "balances-unavailable")
    assert response.headers["retry-after"] == "5"
    assert_private(response)
    page = get(app, "/members", "alice", BROWSER)
    assert page.status_code == 503
    assert "Token balances unavailable" in page.text


def test_rules_by_pattern_route_name_and_mount() -> None:
    assert get(APP, "/vip/free", "bob").status_code == 200  # the first match wins
    assert get(APP, "/vip/other", "bob").status_code == 403
    assert get(APP, "/vip/other", "alice").status_code == 403  # TOKENLY >= 100
    assert get(APP, "/users/12", "bob").status_code == 403
    assert get(APP, "/users/12", "alice").status_code == 200
    assert get(APP, "/users/twelve", "bob").status_code == 404  # neither routed nor gated
    assert get(APP, "/area/inner", "bob").status_code == 403
    inner = get(APP, "/area/inner", "alice")
    assert inner.json()["scopes"] == ["authenticated", "tca", "tca:inner"]


def test_shadow_mode_lets_refusals_through_but_grants_no_scopes() -> None:
    app = make_app(Gate(CachedBalances(StaticBalances(HOLDINGS)), shadow=True))
    response = get(app, "/members", "bob")
    assert response.status_code == 200
    assert response.json()["outcome"] == "insufficient-tokens"
    assert response.json()["shadow"] is True
    assert response.json()["scopes"] == ["authenticated"]
    assert_private(response)
    assert get(app, "/members").status_code == 200
    # an endpoint that checks the scope itself still refuses
    assert get(app, "/lounge", "bob").status_code == 403


def test_a_resolver_given_by_the_app_names_the_holder() -> None:
    async def by_api_key(conn: HTTPConnection) -> Holder | None:
        key = conn.headers.get("x-api-key")
        return Holder.token(key) if key else None

    app = make_app(Gate(StaticBalances(HOLDINGS), identity=by_api_key), middleware=[])
    allowed = call(app, "GET", "/members", {"x-api-key": "alice-token", **JSON})
    assert allowed.status_code == 200
    assert allowed.json()["scopes"] == ["tca", "tca:members"]
    assert call(app, "GET", "/members", {"x-api-key": "bob-token", **JSON}).status_code == 403
    assert call(app, "GET", "/members", JSON).status_code == 401


def test_a_resolver_that_raises_is_a_401_never_an_allow() -> None:
    def broken(conn: HTTPConnection) -> Holder | None:
        raise RuntimeError("the user database is down")

    app = make_app(Gate(StaticBalances(HOLDINGS), identity=broken))
    response = get(app, "/members", "alice")
    assert (response.status_code, response.json()["error"]) == (401, "identity-error")


def test_request_user_is_the_identity_without_a_session() -> None:
    app = make_app(Gate(StaticBalances(HOLDINGS), identity=auth_user_identity()))
    assert get(app, "/members", "alice").status_code == 200
    assert get(app, "/members").status_code == 401


async def log_in(request: Request) -> Response:
    """A stand-in for the Tokenpass callback: store the login the query names."""
    user = TokenpassUser("7", request.query_params["user"], None, None, True)
    expires = int(time.time()) + int(request.query_params.get("for", "3600"))
    store_login(
        request.session, user, request.query_params["token"], "user,tca,private-balances", expires
    )
    return PlainTextResponse("logged in")


def session_app(gate: Gate) -> Starlette:
    routes = [*ROUTES, Route("/test-login", log_in)]
    middleware = [
        Middleware(SessionMiddleware, secret_key="test-session-secret"),
        Middleware(AuthenticationMiddleware, backend=HeaderAuth()),
    ]
    return make_app(gate, middleware=middleware, routes=routes)


def with_login(
    app: Starlette, query: str, *requests: tuple[str, Mapping[str, str]]
) -> list[httpx2.Response]:
    async def go() -> list[httpx2.Response]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            if query:
                assert (await client.get(f"/test-login?{query}")).status_code == 200
            return [await client.get(path, headers=headers) for path, headers in requests]

    return asyncio.run(go())


def test_the_tokenpass_login_session_is_the_identity_by_default() -> None:
    app = session_app(Gate(StaticBalances(HOLDINGS)))
    (alice,) = with_login(app, "user=alice&token=alice-token", ("/members", JSON))
    assert alice.status_code == 200
    assert alice.json()["holder"] == repr(Holder.token("alice-token", "protected", owner="alice"))
    (bob,) = with_login(app, "user=bob&token=bob-token", ("/members", JSON))
    assert bob.status_code == 403
    # no login in the session: request.user is asked instead
    by_user, nobody = with_login(
        app, "", ("/members", {"x-user": "alice", **JSON}), ("/members", JSON)
    )
    assert (by_user.status_code, nobody.status_code) == (200, 401)


def test_an_expired_login_is_no_login() -> None:
    app = session_app(Gate(StaticBalances(HOLDINGS), identity=login_identity()))
    (expired,) = with_login(app, "user=alice&token=alice-token&for=-10", ("/members", JSON))
    assert expired.status_code == 401


def test_a_token_tokenpass_no_longer_accepts_is_a_401() -> None:
    app = session_app(Gate(StaticBalances(HOLDINGS), identity=login_identity()))
    (revoked,) = with_login(app, "user=alice&token=revoked-token", ("/members", BROWSER))
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/auth/login?next=%2Fmembers"


def test_login_identity_without_sessions_is_an_error_naming_the_fix_not_a_401() -> None:
    app = make_app(Gate(StaticBalances(HOLDINGS), identity=login_identity()))
    with pytest.raises(GateConfigError, match=r"no session: add SessionMiddleware and list it"):
        get(app, "/members", "alice")


def test_on_refusal_may_answer_and_its_answer_is_private() -> None:
    async def teapot(conn: HTTPConnection, verdict: Verdict) -> Response | None:
        if verdict.status == 403:
            return PlainTextResponse(f"no: {verdict.reason}", status_code=418)
        return None

    app = make_app(Gate(StaticBalances(HOLDINGS), on_refusal=teapot))
    refused = get(app, "/members", "bob")
    assert (refused.status_code, refused.text) == (418, "no: insufficient-tokens")
    assert_private(refused)
    assert get(app, "/members").json()["error"] == "unauthenticated"  # None: the gate's own


def test_an_on_refusal_that_fails_falls_back_to_the_gates_refusal() -> None:
    def broken(conn: HTTPConnection, verdict: Verdict) -> Response:
        raise RuntimeError("template missing")

    app = make_app(Gate(StaticBalances(HOLDINGS), on_refusal=broken))
    response = get(app, "/members", "bob")
    assert (response.status_code, response.json()["error"]) == (403, "insufficient-tokens")


def test_rules_can_come_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text('[rules]\n"route:members" = "TOKENLY >= 1"\n"/vip/{rest:path}" = "XCP >= 1"\n')
    app = make_app(rules=str(path))
    assert get(app, "/members", "alice").status_code == 200
    assert get(app, "/members", "bob").status_code == 403
    assert get(app, "/vip/x", "alice").status_code == 403
    assert get(app, "/open", "bob").status_code == 200


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"/members": "TOKENLY >= one"}, "the rule for '/members' does not compile"),
        ({"route:nope": "TOKENLY >= 1"}, "'route:nope' names no route of the app"),
        ({"members": "TOKENLY >= 1"}, "neither a path pattern"),
        ("/no/such/gate.toml", "cannot read the gate's rules"),
    ],
)
def test_a_bad_configuration_fails_every_request_never_allows(rules: Any, message: str) -> None:
    app = make_app(rules=rules)
    for path in ("/members", "/open"):
        with pytest.raises(GateConfigError, match=message):
            get(app, path, "alice")

    async def no_raise() -> int:
        transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return (await client.get("/members", headers={"x-user": "alice"})).status_code

    assert asyncio.run(no_raise()) == 500


def test_the_middleware_needs_a_gate() -> None:
    not_a_gate: Any = "gate"
    app = Starlette(
        routes=ROUTES, middleware=[Middleware(TcaGateMiddleware, gate=not_a_gate, rules={})]
    )
    with pytest.raises(GateConfigError, match=r"gate must be a tca_gate\.Gate"):
        get(app, "/open")


# Websockets, by ASGI messages (the server side of a handshake).


def test_an_allowed_websocket_is_accepted_with_its_verdict() -> None:
    sent = asyncio.run(open_socket(APP, "/ws", "alice"))
    assert [message["type"] for message in sent] == [
        "websocket.accept",
        "websocket.send",
        "websocket.close",
    ]
    body = json.loads(sent[1]["text"])
    assert (body["outcome"], body["scopes"]) == ("allowed", ["authenticated", "tca", "tca:ws"])


@pytest.mark.parametrize(("user", "status"), [("bob", 403), (None, 401)])
def test_a_refused_websocket_gets_the_refusal_before_it_is_accepted(
    user: str | None, status: int
) -> None:
    sent = asyncio.run(open_socket(APP, "/ws", user))
    assert sent[0]["type"] == "websocket.http.response.start"
    assert sent[0]["status"] == status
    assert "websocket.accept" not in [message["type"] for message in sent]
    body = b"".join(message.get("body", b"") for message in sent[1:])
    assert json.loads(body)["error"] == ("insufficient-tokens" if user else "unauthenticated")


def test_a_refused_websocket_is_closed_where_the_server_cannot_answer_in_http() -> None:
    sent = asyncio.run(open_socket(APP, "/ws", "bob", denial=False))
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "insufficient-tokens"}]


def test_an_ungated_websocket_passes() -> None:
    sent = asyncio.run(open_socket(APP, "/ws-open", None))
    assert json.loads(sent[1]["text"])["outcome"] is None


def test_other_scope_types_pass_through() -> None:
    received: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        received.append(scope["type"])

    middleware = TcaGateMiddleware(
        inner, gate=Gate(StaticBalances(HOLDINGS)), rules={"/x": "TOKENLY >= 1"}
    )

    async def nothing() -> Message:
        return {}

    async def drop(message: Message) -> None:
        return None

    asyncio.run(middleware({"type": "custom"}, nothing, drop))
    assert received == ["custom"]
