"""``create_app``: the sandbox as one Starlette app, its database seeded on first use."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tca_gate.signing.replay import MemoryReplayStore

from ._clock import Clock, system_clock
from ._faults import FaultMiddleware
from ._live import LiveBalances, live_source
from ._oauth_routes import access_token, authorize, oauth_user
from ._oauth_server import SandboxAuthorizationServer
from ._openapi import openapi_document
from ._routes import API_ROUTES
from ._seed_database import apply_seed
from ._seed_file import Seed, load_seed
from ._state import DEFAULT_TOKEN_LIFETIME, SandboxState
from ._store import Store
from ._webhooks import WebhookSender, check_clients, merged_webhook_urls


def create_app(
    seed: Seed | str | Path | None = None,
    *,
    db: str | Path = ":memory:",
    admin_token: str | None = None,
    replay_protection: bool = False,
    clock: Clock = system_clock,
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
    webhook_urls: Mapping[str, str | None] | None = None,
    counterparty: str | None = None,
) -> Starlette:
    """A Tokenpass-compatible sandbox app.

    ``seed`` is a ``Seed`` or a seed file's path (the demo seed when None); it fills
    ``db`` only when that database is new, so a file keeps its data between runs. The
    tables and the seed are written in one transaction; a seed that does not fit
    raises ``SeedError`` and leaves no file behind.
    ``admin_token`` guards ``/sandbox/`` with a Bearer token; ``replay_protection``
    refuses a signed API request seen before (off by default: identical GETs in one
    second are legitimate). ``clock`` (unix seconds) decides expiry of codes,
    tokens and promises. ``webhook_urls`` (by ``client_id``) replaces the seed's
    ``webhook_url`` of those apps (None: no webhooks for that app). ``counterparty``
    (a Counterparty Core API URL) takes the addresses' balances from that node, live,
    instead of the seed.
    """
    loaded = seed if isinstance(seed, Seed) else load_seed(seed)
    urls = merged_webhook_urls(loaded, webhook_urls)
    creates_file = str(db) != ":memory:" and not Path(db).exists()
    state = SandboxState(
        store=Store(db),
        clock=clock,
        admin_token=admin_token,
        replay_store=MemoryReplayStore() if replay_protection else None,
        token_lifetime=token_lifetime,
        webhooks=WebhookSender(urls),
    )
    try:
        if state.store.is_new:
            state.store.create(lambda _: apply_seed(state, loaded))
        with state.store.transaction() as connection:
            check_clients(connection, urls)
    except BaseException:
        state.store.close()
        if creates_file:
            _remove_database(Path(db))
        raise
    routes = [
        Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
        Route("/oauth/access-token", access_token, methods=["POST"]),
        Route("/oauth/user", oauth_user, methods=["GET"]),
        Route("/openapi.json", openapi_document, methods=["GET"]),
        *API_ROUTES,
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(FaultMiddleware, faults=state.faults),
            *([] if counterparty is None else [_live(state, counterparty)]),
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sandbox = state
    app.state.oauth = SandboxAuthorizationServer(state)
    return app


def _live(state: SandboxState, node_url: str) -> Middleware:
    """The middleware keeping the balances current from the node at ``node_url``."""
    return Middleware(LiveBalances, state=state, source=live_source(node_url))


def _remove_database(path: Path) -> None:
    """Remove a database file this sandbox created, with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


async def _http_error(request: Request, error: Exception) -> Response:
    """Unknown paths and methods answer JSON errors too."""
    assert isinstance(error, HTTPException)
    return JSONResponse({"error": error.detail}, error.status_code, headers=error.headers)
