"""``create_demo_app``: the demo web app, "Log in with Tokenpass" and a gate over cached
Tokenpass balances, with a button that has the sandbox promise a refused user the tokens
they lack."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from tca_gate.balances import CachedBalances, TokenpassBalances
from tca_gate.demo import _pages
from tca_gate.errors import ServiceError
from tca_gate.gate import BalanceWebhook, Gate, Outcome, TcaGateMiddleware, Verdict
from tca_gate.login import LoginError, TokenpassLogin, check_csrf, csrf_token, session_login
from tca_gate.tokenpass import AsyncTokenpassClient
from tca_gate.wire.negotiation import wants_html

from ._offers import Offer, offers_for
from ._story import PAGES, TREASURY, TREASURY_ASSETS, DemoLogin, GatedPage, page_named
from ._wallet import WalletDemo

#: The session cookie of the demo (apart from other apps on 127.0.0.1, whatever their port).
SESSION_COOKIE = "tca_gate_demo"
#: Where the sandbox sends its balance webhooks.
WEBHOOK_PATH = "/hooks/balances"
#: Where the demo serves its Prometheus metrics (with the metrics extra).
METRICS_PATH = "/metrics"
_FLASH = "tca_gate.demo.flash"


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """How the demo app reaches Tokenpass (the sandbox) and what it shows.

    ``client_id`` and ``client_secret`` are the app's: its OAuth client, its API
    credentials for promises, and what the sandbox signs its webhooks with.
    ``treasury`` is the address promises come from (``treasury_assets`` what it may
    promise); ``logins`` are listed on the home page; balances are cached ``cache_ttl``
    seconds unless a webhook or a promise makes the app forget them sooner.
    """

    tokenpass_url: str
    client_id: str
    client_secret: str = field(repr=False)
    logins: tuple[DemoLogin, ...] = ()
    treasury: str = TREASURY
    treasury_assets: tuple[str, ...] = TREASURY_ASSETS
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    cache_ttl: float = 300.0
    #: The app's own origin, which wallet challenges name (None: the request's, on
    #: loopback hosts only).
    origin: str | None = None


def create_demo_app(settings: DemoSettings) -> Starlette:
    """The demo app: ``/`` (home), the gated pages, ``POST /promise``, the balance
    webhook at ``/hooks/balances``, the login under ``/auth``, "Sign in with your
    wallet" at ``/wallet`` with its gated page ``/wallet/vault``, and ``/metrics``.

    With the ``metrics`` extra, the app's ``Metrics`` (its own registry) are installed
    while its lifespan runs and ``/metrics`` serves them; without it, ``/metrics`` is a
    404 naming the extra. The Tokenpass client is closed when the lifespan ends.
    """
    client = AsyncTokenpassClient(
        settings.tokenpass_url, settings.client_id, settings.client_secret
    )
    cache = CachedBalances(TokenpassBalances(client), ttl=settings.cache_ttl)
    login = TokenpassLogin(settings.tokenpass_url, settings.client_id, settings.client_secret)
    demo = _Demo(settings, client, cache, login)
    wallet = WalletDemo(cache, _viewer, origin=settings.origin)
    webhook = BalanceWebhook(cache, api_token=settings.client_id, api_secret=settings.client_secret)
    metrics, metrics_route = _metrics(cache)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with metrics:
            try:
                yield
            finally:
                await client.aclose()

    app = Starlette(
        routes=[
            Route("/", demo.home, name="home"),
            *(Route(page.path, demo.gated_endpoint(page), name=page.name) for page in PAGES),
            Route("/promise", demo.promise, methods=["POST"], name="promise"),
            Route(WEBHOOK_PATH, webhook, name="balance_webhook"),
            metrics_route,
            Mount("/auth", routes=login.routes),
            *wallet.routes,
        ],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=settings.session_secret,
                session_cookie=SESSION_COOKIE,
                same_site="lax",
            ),
            Middleware(
                TcaGateMiddleware,
                gate=demo.gate,
                rules={f"route:{page.name}": page.rule for page in PAGES},
            ),
        ],
        lifespan=lifespan,
    )
    app.state.demo_cache = cache
    return app


class _Demo:
    """The demo's endpoints, sharing the settings, the Tokenpass client and the cache."""

    def __init__(
        self,
        settings: DemoSettings,
        client: AsyncTokenpassClient,
        cache: CachedBalances,
        login: TokenpassLogin,
    ) -> None:
        self.settings = settings
        self.client = client
        self.cache = cache
        self.identity = login.identity()
        self.gate = Gate(cache, identity=self.identity, on_refusal=self.refusal)

    async def home(self, request: Request) -> Response:
        """Who you are, your balances, the gated pages and the logins to try."""
        viewer = _viewer(request)
        balances = await self._balances(request)
        statuses = [
            _pages.PageStatus(page, None if balances is None else page.rule.evaluate(balances))
            for page in PAGES
        ]
        holdings = None if balances is None else _pages.holdings_text(balances)
        page = _pages.home(
            viewer, holdings, statuses, self.settings.logins, self.settings.tokenpass_url
        )
        return _pages.private_page(page)

    def gated_endpoint(self, page: GatedPage) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint of ``page``; the gate's middleware has let the request in."""

        async def show(request: Request) -> Response:
            verdict: Verdict = request.state.tca_gate
            holdings = _pages.holdings_text(verdict.balances or {})
            flash = request.session.pop(_FLASH, None)
            html = _pages.gated(page, _viewer(request), holdings, flash)
            return HTMLResponse(html)

        show.__name__ = show.__qualname__ = f"{page.name}_page"
        return show

    async def refusal(self, conn: HTTPConnection, verdict: Verdict) -> Response | None:
        """The gate's ``on_refusal``: a browser refused for want of tokens gets the demo's
        page with the promises on offer; everything else gets the gate's own answer."""
        page = page_named(verdict.name or "")
        decision = verdict.decision
        if (
            page is None
            or decision is None
            or verdict.outcome is not Outcome.INSUFFICIENT_TOKENS
            or not wants_html(conn.headers.get("accept", ""))
        ):
            return None
        offers = offers_for(decision, self.settings.treasury_assets)
        html = _pages.refused(page, _viewer(conn), verdict.detail, offers)
        return _pages.private_page(html, 403)

    async def promise(self, request: Request) -> Response:
        """Have the sandbox promise the logged-in user what a page's rule says they lack."""
        try:
            await check_csrf(request)
        except LoginError as error:
            return self._problem(request, error.status, "Form refused", error.description)
        form = await request.form()
        page = page_named(str(form.get("page", "")))
        if page is None:
            return self._problem(request, 400, "No such page", "The form names no gated page.")
        verdict = await self.gate.check(request, page.rule, page.name)
        if verdict.allowed:
            request.session[_FLASH] = "You already hold what this page asks for."
            return RedirectResponse(page.path, status_code=303)
        if verdict.status == 401:
            login = "/auth/login?" + urlencode({"next": page.path})
            return RedirectResponse(login, status_code=303)
        if verdict.outcome is not Outcome.INSUFFICIENT_TOKENS or verdict.decision is None:
            return await self.gate.refuse(request, verdict)
        offer = _chosen(offers_for(verdict.decision, self.settings.treasury_assets), form)
        owner = verdict.holder.owner if verdict.holder is not None else None
        if offer is None or owner is None:
            return self._problem(
                request, 400, "No such promise", "That promise is not on offer: go back and retry."
            )
        try:
            for asset, quantity in offer.amounts:
                await self.client.promise_transaction(
                    self.settings.treasury,
                    f"user:{owner}",
                    asset,
                    quantity,
                    note=f"tca-gate demo: {page.title}",
                )
        except ServiceError as error:
            return self._problem(request, 502, "The sandbox refused the promise", str(error))
        # The app made the change, so it forgets the user's balances itself; the sandbox's
        # webhook does the same for promises and balances changed anywhere else.
        await self.cache.forget(usernames=[owner])
        request.session[_FLASH] = f"The sandbox promised you {offer.label} from the demo treasury."
        return RedirectResponse(page.path, status_code=303)

    async def _balances(self, request: Request) -> Mapping[str, int] | None:
        """The viewer's balances as the gate reads them; ``None`` without a login."""
        holder = self.identity(request)
        if isinstance(holder, Awaitable):
            holder = await holder
        if holder is None:
            return None
        try:
            return await self.cache.balances(holder)
        except Exception:  # shown as "cannot be read"; the gate itself fails closed
            return None

    def _problem(self, request: Request, status: int, title: str, text: str) -> Response:
        html = _pages.problem(title, text, _viewer(request))
        return _pages.private_page(html, status)


def _metrics(cache: CachedBalances) -> tuple[contextlib.AbstractContextManager[object], BaseRoute]:
    """The demo's metrics (installed for a ``with`` block) and the route serving them;
    without the metrics extra, nothing to install and a 404 naming the extra."""
    try:
        from tca_gate.metrics import Metrics  # noqa: PLC0415 (the metrics extra)
    except ImportError as error:  # its message names the extra
        missing = PlainTextResponse(f"{error}\n", status_code=404)
        return contextlib.nullcontext(), Route(METRICS_PATH, missing, name="metrics")
    from prometheus_client import CollectorRegistry  # noqa: PLC0415 (there with the extra)

    metrics = Metrics(CollectorRegistry())
    metrics.watch(cache, name="tokenpass")
    return metrics, Route(METRICS_PATH, metrics.asgi(), name="metrics")


def _viewer(conn: HTTPConnection) -> _pages.Viewer:
    login = session_login(conn)
    username = None if login is None else login[0].username
    return _pages.Viewer(username, conn.url.path, csrf_token(conn))


def _chosen(offers: tuple[Offer, ...], form: Mapping[str, Any]) -> Offer | None:
    wanted = str(form.get("group", ""))
    return next((offer for offer in offers if str(offer.group) == wanted), None)
