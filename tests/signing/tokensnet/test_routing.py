"""Issue 11, defect 1: ``TokensNetAuthMiddleware`` protects the routed path, so an app
mounted in a Starlette ``Mount`` or served under a ``root_path`` (behind a proxy that
strips a prefix) cannot be reached unsigned on a protected route. Real uvicorn, loopback.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from tca_gate.signing.tokensnet._scheme import signing_headers
from tca_gate.tokensnet import TokensNetAuthMiddleware, TokensNetClient
from tca_gate.tokensnet.testing import TokensNetEmulator
from tests.support.nonces import Nonces
from tests.support.servers import PREFIXINGS, serve, serve_under

SECRETS = {"mount-key": "mount-secret"}
VAULT = "the vault's contents"


async def vault(request: Request) -> PlainTextResponse:
    """What a private route gives whoever reaches it (``None``: no one verified)."""
    verified = getattr(request.state, "tokensnet", None)
    return PlainTextResponse(f"{VAULT} for {verified and verified.api_key}")


async def ticker(request: Request) -> PlainTextResponse:
    return PlainTextResponse("public")


def exchange() -> ASGIApp:
    """A user's app: one private route, one public, behind the middleware."""
    routes = [Route("/private/vault/", vault), Route("/public/ticker/", ticker)]
    return TokensNetAuthMiddleware(Starlette(routes=routes), secret_for=SECRETS)


@pytest.fixture(scope="module", params=PREFIXINGS)
def base(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve_under("/exchange", exchange(), request.param) as (sent, _):
        yield sent


def test_an_unsigned_request_to_a_private_route_is_refused(base: str) -> None:
    answer = httpx2.get(f"{base}/private/vault/")
    assert answer.status_code == 401
    assert answer.json()["errorCode"] == 100
    assert VAULT not in answer.text


def test_a_signed_request_to_a_private_route_passes(base: str) -> None:
    headers = signing_headers("mount-key", SECRETS["mount-key"], Nonces.next())
    answer = httpx2.get(f"{base}/private/vault/", headers=headers)
    assert answer.status_code == 200
    assert answer.text == f"{VAULT} for mount-key"


def test_a_public_route_stays_public(base: str) -> None:
    assert httpx2.get(f"{base}/public/ticker/").text == "public"


def test_the_emulator_mounted_serves_the_client_and_refuses_the_unsigned() -> None:
    emulator = TokensNetEmulator(SECRETS)
    with serve(Starlette(routes=[Mount("/tokens", app=emulator)])) as url:
        unsigned = httpx2.get(f"{url}/tokens/private/balance/btc/")
        assert (unsigned.status_code, unsigned.json()["errorCode"]) == (401, 100)
        with TokensNetClient("mount-key", "mount-secret", base_url=f"{url}/tokens") as client:
            assert client.balance("btc").currency == "BTC"
    assert len(emulator.accepted_nonces["mount-key"]) == 1
