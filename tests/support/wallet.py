"""Sign in with a wallet, as the tests drive it: a wallet outside the project (pycoin), a
site with the wallet routes and a gated page, and the challenge and verify calls."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx2
from pycoin.symbols.btc import network as bitcoin
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tca_gate.balances import StaticBalances
from tca_gate.gate import Gate, TcaGateMiddleware, Verdict
from tca_gate.login import CSRF_HEADER
from tca_gate.login.wallet import WalletLogin
from tests.support.browsing import JSON
from tests.support.servers import serve

RULE = "TOKENLY >= 1"


class Signer:
    """A wallet outside the project: pycoin's keys and its Bitcoin signed messages."""

    def __init__(self, secret: int, *, compressed: bool = True) -> None:
        self._key = bitcoin.keys.private(secret_exponent=secret, is_compressed=compressed)
        self.address: str = self._key.address()

    def sign(self, message: str) -> str:
        signature: str = bitcoin.msg.sign(self._key, message)
        return signature


RICH = Signer(0x5EED_0001)
POOR = Signer(0x5EED_0002, compressed=False)
STRANGER = Signer(0x5EED_0003)
BALANCES = StaticBalances(
    {
        "addresses": {
            RICH.address: {"TOKENLY": 200_000_000},
            POOR.address: {"LTBCOIN": 100_000_000_000},
        }
    }
)


async def me(request: Request) -> JSONResponse:
    return JSONResponse({"address": await request.app.state.wallet.address(request)})


async def vip(request: Request) -> JSONResponse:
    verdict: Verdict = request.state.tca_gate
    return JSONResponse({"welcome": list(verdict.holder.value) if verdict.holder else None})


def starlette_app(wallet: WalletLogin) -> Starlette:
    """A site with a wallet sign-in and ``/vip`` gated by ``RULE`` on ``BALANCES``."""
    gate = Gate(BALANCES, identity=wallet.identity(), login_url="/wallet/challenge")
    app = Starlette(
        routes=[
            Route("/me", me),
            Route("/vip", vip),
            Mount("/wallet", routes=wallet.routes),
        ],
        middleware=[
            Middleware(SessionMiddleware, secret_key="test-session-secret"),
            Middleware(TcaGateMiddleware, gate=gate, rules={"/vip": RULE}),
        ],
    )
    app.state.wallet = wallet
    return app


@contextlib.contextmanager
def client(wallet: WalletLogin | None = None) -> Iterator[httpx2.Client]:
    """A client of the wallet site (``wallet``, or a default one) served on loopback."""
    with (
        serve(starlette_app(wallet or WalletLogin())) as url,
        httpx2.Client(base_url=url, timeout=10) as http,
    ):
        yield http


def challenge(http: httpx2.Client) -> dict[str, Any]:
    """A fresh challenge, as JSON: its message and the session's CSRF token."""
    answer = http.get("/wallet/challenge", headers=JSON)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body: dict[str, Any] = answer.json()
    return body


def verify(http: httpx2.Client, address: str, signature: str, csrf: str) -> httpx2.Response:
    """Send ``address`` and its ``signature`` of the challenge to be checked."""
    return http.post(
        "/wallet/verify",
        json={"address": address, "signature": signature},
        headers={**JSON, CSRF_HEADER: csrf},
    )


def sign_in(http: httpx2.Client, signer: Signer) -> None:
    """Sign in as ``signer``, through a challenge it signs."""
    asked = challenge(http)
    answer = verify(http, signer.address, signer.sign(asked["message"]), asked["csrf_token"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"address": signer.address}
