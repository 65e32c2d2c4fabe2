"""``run_example``: serve an example app against Tokenpass, or against a sandbox of its own."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from starlette.types import ASGIApp

from tca_gate.errors import DemoError
from tca_gate.sandbox import SandboxError, SandboxServer
from tca_gate.wire.serving import listen, serve_in_foreground

from ._seed import app_urls, demo_seed

#: Makes the app from Tokenpass's URL and the app's client id and secret.
AppFactory = Callable[[str, str, str], ASGIApp]


def run_example(make_app: AppFactory, *, host: str = "127.0.0.1", port: int | None = None) -> None:
    """Serve ``make_app(tokenpass_url, client_id, client_secret)`` on ``host``:``port``
    (``$PORT``, else 8000) until Ctrl-C.

    With ``TOKENPASS_URL`` set, the app uses that Tokenpass with ``TOKENPASS_CLIENT_ID``
    and ``TOKENPASS_CLIENT_SECRET``; without, a sandbox with the demo seed starts on a
    free loopback port and its logins are printed.
    """
    chosen = port if port is not None else int(os.environ.get("PORT", "8000"))
    listener = listen(host, chosen, error=DemoError)
    urls = app_urls(host, listener.getsockname()[1])
    tokenpass_url = os.environ.get("TOKENPASS_URL")
    if tokenpass_url:
        client_id = os.environ.get("TOKENPASS_CLIENT_ID", "")
        client_secret = os.environ.get("TOKENPASS_CLIENT_SECRET", "")
        if not client_id or not client_secret:
            listener.close()
            raise DemoError("TOKENPASS_URL needs TOKENPASS_CLIENT_ID and TOKENPASS_CLIENT_SECRET")
        print(f"open {urls[0]} (Tokenpass: {tokenpass_url}); Ctrl-C to stop", flush=True)
        serve_in_foreground(make_app(tokenpass_url, client_id, client_secret), listener)
        return
    try:
        sandbox = SandboxServer(demo_seed(urls))
        sandbox.start()
    except SandboxError as error:
        listener.close()
        raise DemoError(str(error)) from None
    try:
        app = make_app(sandbox.url, sandbox.client_id, sandbox.client_secret)
        logins = ", ".join(f"{user.username}/{user.password}" for user in sandbox.seed.users)
        print(f"open {urls[0]}; Tokenpass is a sandbox on {sandbox.url}", file=sys.stdout)
        print(f"log in as {logins}; Ctrl-C to stop", flush=True)
        serve_in_foreground(app, listener)
    finally:
        sandbox.stop()
