"""Real servers for tests: an ASGI app under uvicorn on a free loopback port."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp


@contextlib.contextmanager
def serve(app: ASGIApp, *, root_path: str = "", lifespan: bool = False) -> Iterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1 (a free port) and yield its base URL.

    ``root_path`` serves it as behind a proxy that strips that prefix (the URL yielded
    is the one the proxy forwards to, without it); ``lifespan`` runs the app's start-up
    and shut-down.
    """
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on" if lifespan else "off",
        root_path=root_path,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    (socket,) = server.servers[0].sockets
    host, port = socket.getsockname()[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
