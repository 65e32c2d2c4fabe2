"""Real servers for tests: an ASGI app under uvicorn on a free loopback port."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from starlette.types import ASGIApp

from tca_gate.wire.serving import BackgroundServer, listen


@contextlib.contextmanager
def serve(app: ASGIApp, *, root_path: str = "", lifespan: bool = False) -> Iterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1 (a free port) and yield its base URL.

    ``root_path`` serves it as behind a proxy that strips that prefix (the URL yielded
    is the one the proxy forwards to, without it); ``lifespan`` runs the app's start-up
    and shut-down.
    """
    listener = listen("127.0.0.1", 0)
    with BackgroundServer(
        app, listener, lifespan="on" if lifespan else "off", root_path=root_path, stop_timeout=10
    ) as server:
        yield server.url
