"""Issue 11, defect 1: ``TDXAuthMiddleware`` judges ``protect`` on the routed path, so an
app mounted in a Starlette ``Mount`` or served under a ``root_path`` (behind a proxy that
strips a prefix) cannot be reached unsigned on a protected route. Real uvicorn, loopback.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from tca_gate.tdx import TDXAuth, TDXAuthMiddleware, TDXClient, sign_tdx_request
from tests.support.servers import PREFIXINGS, serve_under

API_KEY = "mount-key"
SECRET = "0c3c11e3e74de307866a2d67a9c71f97"
PREFIX = "/tdx"
VAULT = "the vault's contents"


async def vault(request: Request) -> JSONResponse:
    """What the protected route gives whoever reaches it (``None``: no one verified)."""
    verified = getattr(request.state, "tdx", None)
    return JSONResponse({"vault": VAULT, "for": verified and verified.api_key})


async def status(request: Request) -> PlainTextResponse:
    return PlainTextResponse("public")


def api() -> ASGIApp:
    """A user's app: ``/api/...`` protected, ``/status`` public."""
    return TDXAuthMiddleware(
        Starlette(routes=[Route("/api/vault", vault), Route("/status", status)]),
        secret_for={API_KEY: SECRET},
        protect=lambda path: path.startswith("/api/"),
    )


@pytest.fixture(scope="module")
def mounted() -> Iterator[tuple[str, str]]:
    """The app in a ``Mount``: clients send (and sign) the prefixed path."""
    with serve_under(PREFIX, api(), "mount") as urls:
        yield urls


@pytest.fixture(scope="module", params=PREFIXINGS)
def where(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(the URL requests are sent to, the URL clients sign)."""
    with serve_under(PREFIX, api(), request.param) as urls:
        yield urls


def test_an_unsigned_request_to_a_protected_route_is_refused(where: tuple[str, str]) -> None:
    sent, _ = where
    answer = httpx2.get(f"{sent}/api/vault")
    assert answer.status_code == 401
    assert answer.json()["error"] == "missing-authorization"
    assert VAULT not in answer.text


def test_a_signed_request_to_a_protected_route_passes(where: tuple[str, str]) -> None:
    sent, signed = where
    header = sign_tdx_request("GET", f"{signed}/api/vault", api_key=API_KEY, api_secret=SECRET)
    answer = httpx2.get(f"{sent}/api/vault", headers={"Authorization": header})
    assert (answer.status_code, answer.json()) == (200, {"vault": VAULT, "for": API_KEY})


def test_a_public_route_stays_public(where: tuple[str, str]) -> None:
    sent, _ = where
    assert httpx2.get(f"{sent}/status").text == "public"


def test_the_client_reaches_a_mounted_protected_route(mounted: tuple[str, str]) -> None:
    with TDXClient(mounted[0], TDXAuth(API_KEY, SECRET)) as tdx:
        assert tdx.get("/api/vault") == {"vault": VAULT, "for": API_KEY}
