"""Log in with Tokenpass end to end: a browser-like client, the app and the sandbox over HTTP."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
import redis
import redis.asyncio
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, Router

from tca_gate.balances import CachedBalances, TokenpassBalances
from tca_gate.gate import Gate, TcaGateMiddleware
from tca_gate.login import (
    RedisLoginStore,
    TokenpassLogin,
    TokenpassUser,
    access_token,
    current_user,
    require_user,
)
from tca_gate.sandbox import load_seed
from tca_gate.tokenpass import AsyncTokenpassClient
from tca_gate.wire.serving import BackgroundServer
from tests.support.browsing import JSON
from tests.support.login import SESSION_SECRET, FormReader, SettableClock, Site, consent
from tests.support.sandboxes import TEST_SEED, Sandbox, running_sandbox
from tests.support.servers import serve

DANA = {
    "id": "11111111-2222-4333-8444-555555555501",
    "username": "dana",
    "email": "dana@example.com",
    "name": "Dana",
    "email_is_confirmed": True,
}


async def me(request: Request) -> JSONResponse:
    user = current_user(request)
    body = {"user": None if user is None else user.to_json(), "token": access_token(request)}
    return JSONResponse(body)


def starlette_app(auth: Router) -> Starlette:
    return Starlette(
        routes=[Mount("/auth", app=auth), Route("/me", me)],
        middleware=[Middleware(SessionMiddleware, secret_key=SESSION_SECRET)],
    )


def fastapi_app(auth: Router) -> FastAPI:
    app = FastAPI()
    app.add_middleware(SessionMiddleware, secret_key=SESSION_SECRET)
    app.mount("/auth", auth)

    @app.get("/me")
    async def who(user: Annotated[TokenpassUser, Depends(require_user)]) -> dict[str, Any]:
        return {"user": user.to_json()}

    @app.get("/maybe")
    async def maybe(user: Annotated[TokenpassUser | None, Depends(current_user)]) -> dict[str, Any]:
        return {"username": None if user is None else user.username}

    return app


@contextlib.contextmanager
def sandbox_for(app_url: str, clock: SettableClock) -> Iterator[Sandbox]:
    """A sandbox whose test app has the callback of the app at ``app_url`` registered."""
    seed = load_seed(TEST_SEED)
    client = dataclasses.replace(seed.clients[0], redirect_uris=(f"{app_url}/auth/callback",))
    seed = dataclasses.replace(seed, clients=(client, *seed.clients[1:]))
    with running_sandbox(seed, clock=clock) as sandbox:
        yield sandbox


@contextlib.contextmanager
def running_site(make_app: Any = starlette_app, **login_options: Any) -> Iterator[Site]:
    """The app under uvicorn, then a sandbox whose test app has the app's callback registered."""
    auth = Router()
    clock = SettableClock()
    with serve(make_app(auth)) as app_url, sandbox_for(app_url, clock) as sandbox:
        login = TokenpassLogin(
            sandbox.url, sandbox.client_id, sandbox.client_secret, **login_options
        )
        auth.routes.extend(login.routes)
        yield Site(app_url, sandbox, clock)


def session(client: httpx2.Client, site: Site) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"{site.app_url}/me").json()
    return body


def test_login_end_to_end_keeps_the_user_and_a_working_token() -> None:
    with running_site() as site, httpx2.Client() as client:
        assert session(client, site) == {"user": None, "token": None}
        response = client.get(consent(client, site, "dana", next="/dashboard?tab=2"))
        assert (response.status_code, response.headers["location"]) == (303, "/dashboard?tab=2")
        state = session(client, site)
        assert state["user"] == DANA
        user = httpx2.get(f"{site.sandbox.url}/oauth/user", params={"access_token": state["token"]})
        assert user.json() == DANA
        check = site.sandbox.api("GET", "tca/check/dana", oauth_token=state["token"])
        assert check.status_code == 200, check.text


def test_denied_consent_ends_on_a_403_page_without_a_login() -> None:
    with running_site() as site, httpx2.Client() as client:
        callback = consent(client, site, "dana", decision="deny")
        assert dict(parse_qsl(urlsplit(callback).query))["error"] == "access_denied"
        response = client.get(callback)
        assert response.status_code == 403
        assert "You did not allow this site to use your Tokenpass account." in response.text
        assert session(client, site) == {"user": None, "token": None}


def test_a_scope_tokenpass_does_not_know_ends_on_its_error() -> None:
    with running_site(scopes=("user", "no-such-scope")) as site, httpx2.Client() as client:
        start = client.get(f"{site.app_url}/auth/login")
        back = client.get(start.headers["location"])
        assert back.status_code == 302
        response = client.get(back.headers["location"], headers=JSON)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")
        assert session(client, site)["user"] is None


def test_a_used_code_is_refused() -> None:
    with running_site() as site, httpx2.Client() as first, httpx2.Client() as second:
        callback = consent(first, site, "dana")
        assert first.get(callback).status_code == 303
        used_code = dict(parse_qsl(urlsplit(callback).query))["code"]
        start = second.get(f"{site.app_url}/auth/login")
        state = dict(parse_qsl(urlsplit(start.headers["location"]).query))["state"]
        response = second.get(
            f"{site.app_url}/auth/callback",
            params={"code": used_code, "state": state},
            headers=JSON,
        )
        assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
        assert session(second, site) == {"user": None, "token": None}


def test_a_second_use_of_the_callback_is_refused_and_leaves_the_login_alone() -> None:
    with running_site() as site, httpx2.Client() as client:
        callback = consent(client, site, "dana")
        assert client.get(callback).status_code == 303
        response = client.get(callback, headers=JSON)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_state")
        assert session(client, site)["user"] == DANA


def test_an_expired_code_is_refused() -> None:
    with running_site() as site, httpx2.Client() as client:
        callback = consent(client, site, "dana")
        site.clock.offset = 601
        response = client.get(callback, headers=JSON)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
        assert session(client, site)["user"] is None


def test_an_unconfirmed_email_is_refused_when_configured() -> None:
    with running_site(require_confirmed_email=True) as site, httpx2.Client() as client:
        response = client.get(consent(client, site, "erin"), headers=JSON)
        assert (response.status_code, response.json()["error"]) == (403, "email_unconfirmed")
        assert session(client, site)["user"] is None
        assert client.get(consent(client, site, "dana")).status_code == 303
        assert session(client, site)["user"]["username"] == "dana"


def test_an_unconfirmed_email_is_shown_when_allowed() -> None:
    with running_site() as site, httpx2.Client() as client:
        assert client.get(consent(client, site, "erin")).status_code == 303
        assert session(client, site)["user"]["email_is_confirmed"] is False


@pytest.mark.parametrize(
    ("fault", "code"),
    [({"status": 500}, "provider_failed"), ({"status": 200, "delay": 1}, "provider_unreachable")],
)
def test_a_failing_or_slow_token_endpoint_is_503(fault: dict[str, Any], code: str) -> None:
    with running_site(timeout=0.25) as site, httpx2.Client() as client:
        callback = consent(client, site, "dana")
        site.sandbox.inject_faults(count=1, path_prefix="/oauth/access-token", **fault)
        response = client.get(callback, headers=JSON)
        assert (response.status_code, response.json()["error"]) == (503, code)
        assert session(client, site)["user"] is None


def test_fastapi_routes_and_dependencies() -> None:
    with running_site(fastapi_app) as site, httpx2.Client() as client:
        refused = client.get(f"{site.app_url}/me")
        assert (refused.status_code, refused.json()) == (
            401,
            {"detail": "Log in with Tokenpass first."},
        )
        assert client.get(f"{site.app_url}/maybe").json() == {"username": None}
        assert client.get(consent(client, site, "dana")).status_code == 303
        assert client.get(f"{site.app_url}/me").json() == {"user": DANA}
        assert client.get(f"{site.app_url}/maybe").json() == {"username": "dana"}
        assert client.post(f"{site.app_url}/auth/logout").status_code == 403  # no CSRF token
        logout = client.post(f"{site.app_url}/auth/logout", data=csrf(client, site.app_url))
        assert logout.status_code == 303
        assert client.get(f"{site.app_url}/me").status_code == 401


def csrf(client: httpx2.Client, app_url: str) -> dict[str, str]:
    """The logout form's fields (the session's CSRF token), as the logout page shows them."""
    form = FormReader()
    form.feed(client.get(f"{app_url}/auth/logout").text)
    return form.fields


def test_logout_ends_the_token_at_tokenpass_and_a_copied_cookie_logs_nobody_in() -> None:
    with running_site() as site, httpx2.Client() as client:
        assert client.get(consent(client, site, "dana")).status_code == 303
        token = session(client, site)["token"]
        assert site.sandbox.api("GET", "tca/check/dana", oauth_token=token).status_code == 200
        copied = dict(client.cookies)
        assert (
            client.post(f"{site.app_url}/auth/logout", data=csrf(client, site.app_url)).status_code
            == 303
        )
        assert site.sandbox.api("GET", "tca/check/dana", oauth_token=token).status_code in {
            401,
            403,
        }
        with httpx2.Client(cookies=copied) as replay:
            assert session(replay, site) == {"user": None, "token": None}


def worker(redis_url: str, sandbox: Sandbox) -> Starlette:
    """One worker of an app keeping logins in Redis: its own Redis and Tokenpass clients
    (closed by its lifespan), its own ``TokenpassLogin``, ``/me``, and ``/vip`` gated
    through ``login.identity()`` (awaited: the login is read from Redis)."""
    store = RedisLoginStore(redis.asyncio.Redis.from_url(redis_url))
    url, client_id, secret = sandbox.url, sandbox.client_id, sandbox.client_secret
    login = TokenpassLogin(url, client_id, secret, store=store)
    client = AsyncTokenpassClient(url, client_id, secret)
    gate = Gate(CachedBalances(TokenpassBalances(client), ttl=60), identity=login.identity())

    async def me(request: Request) -> JSONResponse:
        user = await login.current_user(request)
        return JSONResponse({"user": None if user is None else user.to_json()})

    async def vip(request: Request) -> JSONResponse:
        return JSONResponse({"page": "vip"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()
        await store.redis.aclose()

    return Starlette(
        routes=[Mount("/auth", routes=login.routes), Route("/me", me), Route("/vip", vip)],
        middleware=[
            Middleware(SessionMiddleware, secret_key=SESSION_SECRET),
            # dana holds 100 LTBCOIN on her public address and 900 on her private one
            Middleware(TcaGateMiddleware, gate=gate, rules={"/vip": "LTBCOIN >= 1000"}),
        ],
        lifespan=lifespan,
    )


def test_logins_kept_in_redis_are_shared_by_workers_and_end_at_logout(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """Two workers of one app on the same Redis: a login made on one is read (and gated
    on) by the other, kept under a key that is neither the token nor the session id, and
    a logout on the other ends it for both and at Tokenpass."""
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    first_url, second_url = (f"http://127.0.0.1:{s.getsockname()[1]}" for s in listeners)
    with sandbox_for(first_url, SettableClock()) as sandbox:
        first, second = (
            BackgroundServer(worker(redis_url, sandbox), listener) for listener in listeners
        )
        with first, second, httpx2.Client() as client:
            site = Site(first_url, sandbox, SettableClock())
            assert client.get(f"{second_url}/vip", headers=JSON).status_code == 401
            assert client.get(consent(client, site, "dana")).status_code == 303
            assert client.get(f"{second_url}/me").json() == {"user": DANA}
            assert client.get(f"{second_url}/vip", headers=JSON).status_code == 200
            (key,) = redis_client.keys("tca_gate:login:*")
            assert isinstance(key, bytes)
            record = redis_client.get(key)
            assert record is not None
            token = json.loads(record)["access_token"]
            assert token.encode() not in key
            assert len(key.removeprefix(b"tca_gate:login:")) == 64  # a SHA-256, not the id
            copied = dict(client.cookies)
            logout = client.post(f"{second_url}/auth/logout", data=csrf(client, second_url))
            assert logout.status_code == 303
            assert redis_client.keys("tca_gate:login:*") == []
            with httpx2.Client(cookies=copied) as replay:
                assert replay.get(f"{first_url}/me").json() == {"user": None}
                assert replay.get(f"{first_url}/vip", headers=JSON).status_code == 401
        assert sandbox.api("GET", "tca/check/dana", oauth_token=token).status_code in {401, 403}
