"""Log in with Tokenpass over real HTTP: the app under uvicorn, broken providers, next, logout."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from tca_gate.login import (
    SESSION_KEY,
    LoginConfigError,
    TokenpassLogin,
    access_token,
    current_user,
)
from tests.support.browsing import HTML, JSON
from tests.support.login import ALICE
from tests.support.servers import serve

GOOD_TOKEN = {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600, "scope": "user"}


async def me(request: Request) -> JSONResponse:
    """What the session holds: the route tests read the login through."""
    user = current_user(request)
    body = {"user": None if user is None else user.to_json(), "token": access_token(request)}
    return JSONResponse(body)


def login_app(login: TokenpassLogin) -> Starlette:
    """The example app: the login routes under /auth, a /me page, cookie sessions."""
    return Starlette(
        routes=[Mount("/auth", routes=login.routes), Route("/me", me)],
        middleware=[Middleware(SessionMiddleware, secret_key="test-session-secret")],
    )


# A provider that answers each case (the first path segment) in one broken way.
TOKEN_ANSWERS: dict[str, tuple[int, Any]] = {
    "ok": (200, GOOD_TOKEN),
    "token-html": (200, "<html>We'll be right back</html>"),
    "token-500": (500, {"error": "server_error"}),
    "token-503-oauth": (503, {"error": "temporarily_unavailable"}),
    "token-200-oauth-error": (200, {"error": "temporarily_unavailable"}),
    "token-without-access-token": (200, {"token_type": "Bearer", "expires_in": 3600}),
    "token-string-expiry": (200, {**GOOD_TOKEN, "expires_in": "3600"}),
    "token-list": (200, [GOOD_TOKEN]),
    "token-refused": (400, {"error": "invalid_grant", "error_description": "<b>used</b>"}),
    "token-bad-client": (401, {"error": "invalid_client"}),
}
USER_ANSWERS: dict[str, tuple[int, Any]] = {
    "ok": (200, ALICE),
    "unconfirmed": (200, {**ALICE, "email_is_confirmed": False}),
    "user-text": (200, "alice"),
    "user-missing-confirmed": (200, {"id": "u-1", "username": "alice"}),
    "user-401": (401, {"error": "invalid token"}),
    "user-502": (502, "Bad Gateway"),
}


def answer(status: int, body: Any) -> Response:
    if isinstance(body, str):
        return PlainTextResponse(body, status)
    return JSONResponse(body, status)


class BrokenProvider:
    """Token and user endpoints per case; records what the app sent them."""

    def __init__(self) -> None:
        self.token_requests: list[tuple[dict[str, str], dict[str, str]]] = []
        self.user_requests: list[tuple[dict[str, str], str | None]] = []
        self.logouts: list[dict[str, str]] = []
        self.app = Starlette(
            routes=[
                Route("/{case}/oauth/access-token", self.token, methods=["POST"]),
                Route("/{case}/oauth/user", self.user),
                Route("/{case}/api/v1/oauth/logout", self.logout, methods=["POST"]),
            ]
        )

    async def token(self, request: Request) -> Response:
        async with request.form() as form:
            fields = {key: str(value) for key, value in form.items()}
        self.token_requests.append((fields, dict(request.headers)))
        return answer(*TOKEN_ANSWERS.get(request.path_params["case"], TOKEN_ANSWERS["ok"]))

    async def user(self, request: Request) -> Response:
        self.user_requests.append(
            (dict(request.query_params), request.headers.get("authorization"))
        )
        return answer(*USER_ANSWERS.get(request.path_params["case"], USER_ANSWERS["ok"]))

    async def logout(self, request: Request) -> Response:
        self.logouts.append({**request.headers, "body": (await request.body()).decode()})
        if request.path_params["case"] == "logout-500":
            return JSONResponse({"error": "server_error"}, 500)
        return JSONResponse({"result": True})


@pytest.fixture(scope="module")
def broken() -> Iterator[tuple[BrokenProvider, str]]:
    provider = BrokenProvider()
    with serve(provider.app) as url:
        yield provider, url


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start_login(client: httpx2.Client, app_url: str, **params: str) -> dict[str, str]:
    """Begin a login; the query of the authorize URL the app redirected to."""
    response = client.get(f"{app_url}/auth/login", params=params)
    assert response.status_code == 302, response.text
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


def come_back(
    client: httpx2.Client,
    app_url: str,
    state: str,
    code: str = "c",
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    """The browser back at the app's callback with ``code``, for the login begun with
    ``state``."""
    return client.get(
        f"{app_url}/auth/callback", params={"code": code, "state": state}, headers=headers
    )


def logged_in(client: httpx2.Client, app_url: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"{app_url}/me").json()
    return body


def test_login_redirects_to_authorize_with_comma_scopes_state_and_pkce(
    broken: tuple[BrokenProvider, str],
) -> None:
    _, provider_url = broken
    login = TokenpassLogin(
        f"{provider_url}/ok", "app-id", "app-secret", scopes=("user", "tca", "private-balances")
    )
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        response = client.get(f"{app_url}/auth/login")
        location = urlsplit(response.headers["location"])
        query = dict(parse_qsl(location.query))
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{provider_url}/ok/oauth/authorize"
    )
    assert query.pop("state")
    assert query.pop("code_challenge")
    assert query == {
        "response_type": "code",
        "client_id": "app-id",
        "redirect_uri": f"{app_url}/auth/callback",
        "scope": "user,tca,private-balances",
        "code_challenge_method": "S256",
    }


def test_the_code_is_exchanged_with_client_secret_post_and_the_user_read_by_token(
    broken: tuple[BrokenProvider, str],
) -> None:
    provider, provider_url = broken
    provider.token_requests.clear()
    provider.user_requests.clear()
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret", pkce=False)
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        authorize = start_login(client, app_url, next="/after?x=1")
        assert "code_challenge" not in authorize
        response = come_back(client, app_url, authorize["state"], code="the-code")
        assert response.status_code == 303
        assert response.headers["location"] == "/after?x=1"
        session = logged_in(client, app_url)
    assert session == {"user": ALICE, "token": "tok-1"}
    ((form, headers),) = provider.token_requests
    assert form == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": f"{app_url}/auth/callback",
        "client_id": "app-id",
        "client_secret": "app-secret",
    }
    assert "authorization" not in headers
    # the token travels in the Authorization header, never in a URL (nor a log line)
    assert provider.user_requests == [({}, "Bearer tok-1")]


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("token-html", 503, "provider_failed"),
        ("token-500", 503, "provider_failed"),
        ("token-503-oauth", 503, "provider_failed"),
        ("token-200-oauth-error", 503, "temporarily_unavailable"),
        ("token-without-access-token", 503, "provider_failed"),
        ("token-string-expiry", 503, "provider_failed"),
        ("token-list", 503, "provider_failed"),
        ("token-refused", 400, "invalid_grant"),
        ("token-bad-client", 400, "invalid_client"),
        ("user-text", 503, "provider_failed"),
        ("user-missing-confirmed", 503, "provider_failed"),
        ("user-401", 400, "invalid_token"),
        ("user-502", 503, "provider_failed"),
    ],
)
def test_a_broken_or_refusing_provider_ends_on_an_error_and_no_login(
    broken: tuple[BrokenProvider, str], case: str, status: int, code: str
) -> None:
    _, provider_url = broken
    login = TokenpassLogin(f"{provider_url}/{case}", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        authorize = start_login(client, app_url)
        response = come_back(client, app_url, authorize["state"], headers=JSON)
        assert (response.status_code, response.json()["error"]) == (status, code)
        assert response.headers["cache-control"] == "no-store"
        assert logged_in(client, app_url) == {"user": None, "token": None}


def test_errors_are_a_page_for_browsers_with_the_provider_text_escaped(
    broken: tuple[BrokenProvider, str],
) -> None:
    _, provider_url = broken
    login = TokenpassLogin(f"{provider_url}/token-refused", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        authorize = start_login(client, app_url)
        response = come_back(client, app_url, authorize["state"], headers=HTML)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "The login code has expired or was already used" in response.text
    assert "&lt;b&gt;used&lt;/b&gt;" in response.text
    assert "<b>" not in response.text
    assert '<a href="login">Try again</a>' in response.text


def test_provider_down_is_503_and_no_login() -> None:
    login = TokenpassLogin(f"http://127.0.0.1:{closed_port()}", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        authorize = start_login(client, app_url)
        response = come_back(client, app_url, authorize["state"], headers=JSON)
        assert response.status_code == 503
        assert response.json() == {
            "error": "provider_unreachable",
            "error_description": "Tokenpass could not be reached to finish the login; "
            "try again later.",
        }
        assert logged_in(client, app_url) == {"user": None, "token": None}


def test_unconfirmed_email_is_refused_only_when_configured(
    broken: tuple[BrokenProvider, str],
) -> None:
    provider, provider_url = broken
    provider.logouts.clear()
    strict = TokenpassLogin(
        f"{provider_url}/unconfirmed", "app-id", "app-secret", require_confirmed_email=True
    )
    lenient = TokenpassLogin(f"{provider_url}/unconfirmed", "app-id", "app-secret")
    with serve(login_app(strict)) as app_url, httpx2.Client() as client:
        authorize = start_login(client, app_url)
        response = come_back(client, app_url, authorize["state"], headers=JSON)
        assert (response.status_code, response.json()["error"]) == (403, "email_unconfirmed")
        assert logged_in(client, app_url) == {"user": None, "token": None}
    # the token issued to a refused user is ended at once
    assert [call["authorization"] for call in provider.logouts] == ["Bearer tok-1"]
    with serve(login_app(lenient)) as app_url, httpx2.Client() as client:
        authorize = start_login(client, app_url)
        come_back(client, app_url, authorize["state"])
        assert logged_in(client, app_url)["user"]["email_is_confirmed"] is False


@pytest.mark.parametrize(
    "params",
    [
        {"code": "c", "state": "not-the-state"},
        {"code": "c"},
        {"code": "c", "state": ""},
    ],
)
def test_a_missing_or_wrong_state_is_refused(
    broken: tuple[BrokenProvider, str], params: dict[str, str]
) -> None:
    provider, provider_url = broken
    provider.token_requests.clear()
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        start_login(client, app_url)
        response = client.get(
            f"{app_url}/auth/callback", params=params, headers={"Accept": "application/json"}
        )
        assert (response.status_code, response.json()["error"]) == (400, "invalid_state")
        assert logged_in(client, app_url) == {"user": None, "token": None}
    assert provider.token_requests == []


def test_a_callback_without_a_code_is_refused_before_asking_tokenpass(
    broken: tuple[BrokenProvider, str],
) -> None:
    provider, provider_url = broken
    provider.token_requests.clear()
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        authorize = start_login(client, app_url)
        response = come_back(client, app_url, authorize["state"], code="", headers=JSON)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
        assert logged_in(client, app_url)["user"] is None
    assert provider.token_requests == []


def test_a_callback_in_another_browser_is_refused(broken: tuple[BrokenProvider, str]) -> None:
    _, provider_url = broken
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as victim, httpx2.Client() as other:
        authorize = start_login(victim, app_url)
        response = other.get(
            f"{app_url}/auth/callback",
            params={"code": "c", "state": authorize["state"]},
            headers={"Accept": "application/json"},
        )
        assert (response.status_code, response.json()["error"]) == (400, "invalid_state")
        assert logged_in(other, app_url)["user"] is None


def log_in(client: httpx2.Client, app_url: str) -> None:
    """A whole login against the provider's ``ok`` case (alice, token ``tok-1``)."""
    authorize = start_login(client, app_url)
    response = come_back(client, app_url, authorize["state"])
    assert response.status_code == 303, response.text
    assert logged_in(client, app_url) == {"user": ALICE, "token": "tok-1"}


def csrf_of(client: httpx2.Client, app_url: str) -> str:
    """The session's CSRF token, as the logout page's form carries it."""
    page = client.get(f"{app_url}/auth/logout")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def test_a_failed_login_ends_an_earlier_one(broken: tuple[BrokenProvider, str]) -> None:
    _, provider_url = broken
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        log_in(client, app_url)
        authorize = start_login(client, app_url)
        response = client.get(
            f"{app_url}/auth/callback",
            params={"error": "access_denied", "state": authorize["state"]},
        )
        assert response.status_code == 403
        assert logged_in(client, app_url) == {"user": None, "token": None}


@pytest.mark.parametrize(
    "params",
    [
        {"error": "access_denied"},
        {"error": "access_denied", "state": "forged"},
        {"code": "attacker-code"},
        {"code": "attacker-code", "state": "forged"},
    ],
)
def test_a_callback_with_a_wrong_or_missing_state_leaves_the_login_intact(
    broken: tuple[BrokenProvider, str], params: dict[str, str]
) -> None:
    provider, provider_url = broken
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        log_in(client, app_url)
        start_login(client, app_url)  # a login in progress: its state is not the one sent
        provider.token_requests.clear()
        response = client.get(f"{app_url}/auth/callback", params=params, headers=JSON)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_state")
        assert logged_in(client, app_url) == {"user": ALICE, "token": "tok-1"}
    assert provider.token_requests == []


def test_the_session_cookie_holds_no_token(broken: tuple[BrokenProvider, str]) -> None:
    _, provider_url = broken
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        log_in(client, app_url)
        cookie = client.cookies["session"]
    payload = base64.b64decode(cookie.split(".")[0] + "==").decode()
    login_entry = json.loads(payload)[SESSION_KEY]
    assert set(login_entry) == {"sid"}
    assert "tok-1" not in cookie
    assert "tok-1" not in payload


@pytest.mark.parametrize("route", ["login", "logout"])
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_next_must_stay_on_this_site(
    broken: tuple[BrokenProvider, str], route: str, target: str
) -> None:
    _, provider_url = broken
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        response = client.get(
            f"{app_url}/auth/{route}",
            params={"next": target},
            headers={"Accept": "application/json"},
        )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_next")
    assert "location" not in response.headers


def test_logout_ends_the_login_revokes_the_token_and_returns_to_next(
    broken: tuple[BrokenProvider, str],
) -> None:
    provider, provider_url = broken
    provider.logouts.clear()
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret", default_next="/home")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        log_in(client, app_url)
        response = client.post(
            f"{app_url}/auth/logout",
            params={"next": "/bye"},
            data={"csrf_token": csrf_of(client, app_url)},
        )
        assert (response.status_code, response.headers["location"]) == (303, "/bye")
        assert logged_in(client, app_url) == {"user": None, "token": None}
        log_in(client, app_url)
        header = {"X-CSRF-Token": csrf_of(client, app_url)}
        response = client.post(f"{app_url}/auth/logout", headers=header)
        assert (response.status_code, response.headers["location"]) == (303, "/home")
    # each logout had Tokenpass end the token: as Bearer, in a request the app signed
    assert [call["authorization"] for call in provider.logouts] == ["Bearer tok-1"] * 2
    assert all(call["x-tokenly-auth-api-token"] == "app-id" for call in provider.logouts)
    assert all(call["x-tokenly-auth-signature"] for call in provider.logouts)
    assert [call["body"] for call in provider.logouts] == ["{}"] * 2


@pytest.mark.parametrize(
    "send",
    [
        {},
        {"data": {"csrf_token": ""}},
        {"data": {"csrf_token": "not-the-token"}},
        {"headers": {"X-CSRF-Token": "not-the-token"}},
    ],
)
def test_logout_without_the_csrf_token_is_refused_and_keeps_the_login(
    broken: tuple[BrokenProvider, str], send: dict[str, Any]
) -> None:
    provider, provider_url = broken
    provider.logouts.clear()
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        log_in(client, app_url)
        csrf_of(client, app_url)  # the session has a token: the request just does not carry it
        headers = {**JSON, **send.get("headers", {})}
        response = client.post(f"{app_url}/auth/logout", headers=headers, data=send.get("data"))
        assert (response.status_code, response.json()["error"]) == (403, "invalid_csrf")
        assert logged_in(client, app_url)["user"] == ALICE
    assert provider.logouts == []


def test_logout_ends_the_login_even_when_tokenpass_fails_to_end_the_token(
    broken: tuple[BrokenProvider, str], caplog: pytest.LogCaptureFixture
) -> None:
    provider, provider_url = broken
    provider.logouts.clear()
    login = TokenpassLogin(f"{provider_url}/logout-500", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        log_in(client, app_url)
        with caplog.at_level(logging.WARNING, logger="tca_gate.login"):
            out = client.post(
                f"{app_url}/auth/logout", data={"csrf_token": csrf_of(client, app_url)}
            )
        assert out.status_code == 303
        assert logged_in(client, app_url) == {"user": None, "token": None}
    assert len(provider.logouts) == 1
    (record,) = caplog.records
    assert record.getMessage() == "Tokenpass did not end a token at logout: it answered 500"


def test_a_get_of_logout_only_shows_a_form_that_posts(broken: tuple[BrokenProvider, str]) -> None:
    _, provider_url = broken
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        log_in(client, app_url)
        page = client.get(f"{app_url}/auth/logout", params={"next": "/bye"})
        assert page.status_code == 200
        assert '<form method="post" action="">' in page.text  # back to this URL, next and all
        assert logged_in(client, app_url)["user"] == ALICE
        response = client.post(page.url, data={"csrf_token": csrf_of(client, app_url)})
        assert (response.status_code, response.headers["location"]) == (303, "/bye")
        assert logged_in(client, app_url)["user"] is None


def test_a_copied_cookie_is_useless_after_logout(broken: tuple[BrokenProvider, str]) -> None:
    _, provider_url = broken
    login = TokenpassLogin(f"{provider_url}/ok", "app-id", "app-secret")
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        log_in(client, app_url)
        copied = dict(client.cookies)
        token = csrf_of(client, app_url)
        assert client.post(f"{app_url}/auth/logout", data={"csrf_token": token}).status_code == 303
        with httpx2.Client(cookies=copied) as replay:
            assert logged_in(replay, app_url) == {"user": None, "token": None}


def test_a_configured_redirect_uri_is_sent_as_is(broken: tuple[BrokenProvider, str]) -> None:
    _, provider_url = broken
    login = TokenpassLogin(
        f"{provider_url}/ok", "app", "secret", redirect_uri="https://app.example/auth/callback"
    )
    with serve(login_app(login)) as app_url, httpx2.Client() as client:
        authorize = start_login(client, app_url)
    assert authorize["redirect_uri"] == "https://app.example/auth/callback"


def test_the_routes_need_the_session_middleware() -> None:
    login = TokenpassLogin("https://tokenpass.example", "app", "secret")
    scope = {"type": "http", "method": "GET", "path": "/login", "headers": [], "query_string": b""}
    with pytest.raises(LoginConfigError, match="SessionMiddleware"):
        asyncio.run(login.routes[0].endpoint(Request(scope)))
