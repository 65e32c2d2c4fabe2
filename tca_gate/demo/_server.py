"""``DemoServer``: the sandbox and the demo app together, ready to open in a browser."""

from __future__ import annotations

import socket
from collections.abc import Callable

from starlette.applications import Starlette

from tca_gate.balances import CachedBalances
from tca_gate.errors import DemoError, InvalidArgumentError
from tca_gate.sandbox import SandboxError, SandboxServer, Seed
from tca_gate.wire.serving import (
    BackgroundServer,
    Startable,
    listen,
    serve_in_foreground,
)
from tca_gate.wire.urls import is_loopback

from ._app import METRICS_PATH, WEBHOOK_PATH, DemoSettings, create_demo_app
from ._seed import app_urls, demo_seed
from ._story import PAGES, STORIES, WALLET_PAGE, DemoLogin


class DemoServer(Startable):
    """The demo: a Tokenpass sandbox (the demo seed, on 127.0.0.1:``sandbox_port``) and
    the demo app (on ``host``:``port``) logging in with it, whose balance webhook the
    sandbox calls. Port 0 picks a free one. With ``counterparty`` (a Counterparty Core
    API's URL) the sandbox reads its addresses' balances live from that node.

    ``with DemoServer(port=0, sandbox_port=0) as demo:`` serves both in background
    threads (``demo.url``, ``demo.sandbox``); ``DemoServer().run()`` serves the app in
    the calling thread until Ctrl-C. Either way ``DemoError`` says what could not start.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        sandbox_port: int = 8001,
        cache_ttl: float = 300.0,
        counterparty: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sandbox_port = sandbox_port
        self.cache_ttl = cache_ttl
        self.counterparty = counterparty
        self._listener: socket.socket | None = None
        self._sandbox: SandboxServer | None = None
        self._app: Starlette | None = None
        self._url: str | None = None
        self._background: BackgroundServer | None = None

    def start(self) -> None:
        """Start the sandbox and serve the app in a background thread."""
        try:
            listener = self._open()
            self._background = BackgroundServer(
                self.app, listener, name="the tca-gate demo app", error=DemoError
            )
            self._background.start()
        except BaseException:
            self.stop()
            raise

    def run(self, on_ready: Callable[[DemoServer], None] | None = None) -> None:
        """Start the sandbox and serve the app in this thread until Ctrl-C or SIGTERM.

        ``on_ready`` is called once the sandbox runs and the app's port listens (to
        print ``welcome()``, say); everything is stopped when this returns.
        """
        try:
            listener = self._open()
            if on_ready is not None:
                on_ready(self)
            serve_in_foreground(self.app, listener)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the app, then the sandbox."""
        background, self._background = self._background, None
        if background is not None:
            background.stop()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            sandbox.stop()
        self._app = None
        self._url = None

    @property
    def url(self) -> str:
        """The app's URL, as a browser on this machine opens it."""
        if self._url is None:
            raise DemoError("the demo is not running")
        return self._url

    @property
    def sandbox(self) -> SandboxServer:
        """The running sandbox."""
        if self._sandbox is None:
            raise DemoError("the demo is not running")
        return self._sandbox

    @property
    def app(self) -> Starlette:
        """The demo app."""
        if self._app is None:
            raise DemoError("the demo is not running")
        return self._app

    @property
    def cache(self) -> CachedBalances:
        """The app's balance cache (what the gate reads and the webhook empties)."""
        cache: CachedBalances = self.app.state.demo_cache
        return cache

    def welcome(self) -> list[str]:
        """What to print on start: the URLs, the logins and the story to try."""
        sandbox = self.sandbox
        title = max(len(page.title) for page in PAGES)
        lines = [f"tca-gate demo: open {self.url} in a browser"]
        lines += [
            f"  {page.title + ':':<{title + 1}}  {self.url}{page.path}  ({page.rule.to_expr()})"
            for page in PAGES
        ]
        lines.append(
            f"  sign in with your wallet instead: {self.url}/wallet "
            f"(its vault: {WALLET_PAGE.rule.to_expr()})"
        )
        lines.append(f"  Tokenpass: a sandbox on {sandbox.url} (app {sandbox.client_id})")
        if self.counterparty is not None:
            lines.append(f"  balances: live from the Counterparty node {self.counterparty}")
        lines.append(f"  the sandbox's balance webhooks: {self.url}{WEBHOOK_PATH}")
        lines.append(f"  Prometheus metrics (with tca-gate[metrics]): {self.url}{METRICS_PATH}")
        if not is_loopback(self.host):
            lines.append("  the sandbox listens on 127.0.0.1: log in from this machine's browser")
        users = sandbox.seed.users
        name = max((len(user.username) for user in users), default=0)
        secret = max((len(user.password) for user in users), default=0)
        lines.append("log in with Tokenpass as:")
        lines += [
            f"  {user.username:<{name}}  password {user.password:<{secret}}"
            f"  {STORIES.get(user.username, '')}".rstrip()
            for user in users
        ]
        lines += [
            'try bob: the members\' page refuses him ("Needs 1 TOKENLY, or 1,200 more LTBCOIN.");',
            'press "Receive 1,200 LTBCOIN" there: the sandbox promises them and he is let in.',
            "press Ctrl-C to stop",
        ]
        return lines

    def _open(self) -> socket.socket:
        """Bind the app's socket, start the sandbox, make the app; the caller stops all
        of it if this fails."""
        if self._app is not None:
            raise DemoError("the demo is already running")
        listener = self._listener = listen(self.host, self.port, error=DemoError)
        urls = app_urls(self.host, listener.getsockname()[1])
        self._url = urls[0]
        seed = demo_seed(urls)
        webhook = {seed.clients[0].client_id: urls[0] + WEBHOOK_PATH}
        try:
            sandbox = SandboxServer(
                seed, port=self.sandbox_port, webhook_urls=webhook, counterparty=self.counterparty
            )
            sandbox.start()
        except (SandboxError, InvalidArgumentError) as error:  # a port, or --counterparty
            raise DemoError(str(error)) from None
        self._sandbox = sandbox
        self._app = create_demo_app(self._settings(seed))
        return listener

    def _settings(self, seed: Seed) -> DemoSettings:
        logins = tuple(
            DemoLogin(user.username, user.password, STORIES.get(user.username, ""))
            for user in seed.users
        )
        sandbox = self.sandbox
        return DemoSettings(
            sandbox.url,
            sandbox.client_id,
            sandbox.client_secret,
            logins=logins,
            cache_ttl=self.cache_ttl,
            origin=self.url,
        )
