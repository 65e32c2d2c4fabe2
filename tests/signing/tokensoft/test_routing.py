"""Issue 11, defect 1: ``TokensoftAuthMiddleware`` with ``protect`` judges the routed
path, so the GraphQL endpoint mounted in a Starlette ``Mount`` or served under a
``root_path`` cannot be reached unsigned. Real uvicorn, loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from tca_gate.tokensoft import (
    TokensoftAuthMiddleware,
    TokensoftClient,
    server_time_ms,
    tokensoft_signature,
)
from tca_gate.tokensoft.testing import emulator_app
from tests.support.servers import PREFIXINGS, serve, serve_under

KEY, SECRET = "TS-mount-key", "TS-mount-secret"
ASK = b'{"query":"{ currentUser { id email } }"}'


async def graphql(request: Request) -> JSONResponse:
    """What the endpoint gives whoever reaches it (``None``: no one verified)."""
    signed = getattr(request.state, "tokensoft", None)
    return JSONResponse({"data": {"currentUser": {"id": signed and signed.access_key}}})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def endpoint() -> ASGIApp:
    """A user's app: ``/graphql`` protected, ``/health`` not."""
    routes = [Route("/graphql", graphql, methods=["POST"]), Route("/health", health)]
    return TokensoftAuthMiddleware(
        Starlette(routes=routes), secret_for={KEY: SECRET}, protect=lambda path: path == "/graphql"
    )


@pytest.fixture(scope="module", params=PREFIXINGS)
def base(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve_under("/tokensoft", endpoint(), request.param) as (sent, _):
        yield sent


def test_an_unsigned_query_is_refused(base: str) -> None:
    answer = httpx2.post(f"{base}/graphql", content=ASK)
    assert answer.status_code == 401
    assert answer.json()["error"] == "missing-key"


def test_a_signed_query_passes(base: str) -> None:
    now = str(server_time_ms())
    headers = {
        "access-key": KEY,
        "access-timestamp": now,
        "access-sign": tokensoft_signature(SECRET, now, ASK),
    }
    answer = httpx2.post(f"{base}/graphql", content=ASK, headers=headers)
    assert answer.status_code == 200
    assert answer.json() == {"data": {"currentUser": {"id": KEY}}}


def test_an_unprotected_route_stays_open(base: str) -> None:
    assert httpx2.get(f"{base}/health").json() == {"ok": True}


def test_the_emulator_mounted_serves_the_client_and_refuses_the_unsigned() -> None:
    app = emulator_app({KEY: SECRET})
    with serve(Starlette(routes=[Mount("/ts", app=app)])) as url:
        assert httpx2.post(f"{url}/ts/graphql", content=ASK).status_code == 401
        with TokensoftClient(f"{url}/ts/graphql", KEY, SECRET) as client:
            assert client.current_user().id == f"user-{KEY}"
