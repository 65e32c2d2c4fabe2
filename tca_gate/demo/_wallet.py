"""The demo's "Sign in with your wallet": a page showing a challenge to sign, and a page
gated on the proven address's balances (read from the sandbox, through the demo's cache)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from tca_gate.balances import CachedBalances
from tca_gate.gate import Gate, Outcome, Verdict
from tca_gate.login.wallet import WalletLogin
from tca_gate.wire.negotiation import wants_html

from . import _pages
from ._story import WALLET_PAGE


class WalletDemo:
    """The wallet pages: ``/wallet`` (sign in, or the address signed in), the gated
    ``/wallet/vault`` and the sign-in routes under ``/wallet/auth``; ``viewer`` gives
    the demo's header and forms what they show."""

    def __init__(
        self,
        cache: CachedBalances,
        viewer: Callable[[HTTPConnection], _pages.Viewer],
        *,
        origin: str | None = None,
    ) -> None:
        self.login = WalletLogin(origin=origin)
        self.viewer = viewer
        self.gate = Gate(
            cache, identity=self.login.identity(), login_url="/wallet", on_refusal=self.refusal
        )
        self.routes: list[BaseRoute] = [
            Route("/wallet", self.sign_in_page, name="wallet"),
            Route(WALLET_PAGE.path, self.vault, name=WALLET_PAGE.name),
            Mount("/wallet/auth", routes=self.login.routes),
        ]

    async def sign_in_page(self, request: Request) -> Response:
        """A new challenge and the form, or the signed-in address and its balances."""
        address = await self.login.address(request)
        holdings = challenge = None
        if address is None:
            challenge = self.login.challenge(request).message
        else:
            verdict = await self.gate.check(request, WALLET_PAGE.rule, WALLET_PAGE.name)
            if verdict.balances is not None:
                holdings = _pages.holdings_text(verdict.balances)
        page = _pages.wallet(self.viewer(request), address, holdings, challenge)
        return _pages.private_page(page)

    async def vault(self, request: Request) -> Response:
        """The gated page: let in when the signed-in address holds what the rule asks."""
        verdict = await self.gate.check(request, WALLET_PAGE.rule, WALLET_PAGE.name)
        if not verdict.allowed:
            return await self.gate.refuse(request, verdict)
        holdings = _pages.holdings_text(verdict.balances or {})
        who = await self.login.address(request)
        page = _pages.gated(WALLET_PAGE, self.viewer(request), holdings, None, who)
        return _pages.private_page(page)

    async def refusal(self, conn: HTTPConnection, verdict: Verdict) -> Response | None:
        """The gate's ``on_refusal``: a browser refused (for its tokens, or an address the
        sandbox does not know) gets the demo's page; the rest, the gate's own answer."""
        if verdict.status != 403 or not wants_html(conn.headers.get("accept", "")):
            return None
        explanation = verdict.detail
        if verdict.outcome is not Outcome.INSUFFICIENT_TOKENS:
            explanation = (
                "The sandbox knows no balances of this address: a user must verify it and "
                "make it public there first."
            )
        page = _pages.wallet_refused(self.viewer(conn), explanation)
        return _pages.private_page(page, 403)
