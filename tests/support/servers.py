"""Real servers for tests: an ASGI app under uvicorn on a free loopback port."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

from starlette.applications import Starlette
from starlette.routing import Mount
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


#: The two ways an app meets a path prefix (pytest params for ``serve_under``).
PREFIXINGS: list[Literal["mount", "root_path"]] = ["mount", "root_path"]


@contextlib.contextmanager
def serve_under(
    prefix: str, app: ASGIApp, how: Literal["mount", "root_path"]
) -> Iterator[tuple[str, str]]:
    """Serve ``app`` under ``prefix``: ``"mount"``, in a Starlette ``Mount``; ``"root_path"``,
    as behind a proxy that strips the prefix. Yields the URL requests are sent to and the
    public URL clients see (and sign), which differ only behind the proxy."""
    if how == "mount":
        with serve(Starlette(routes=[Mount(prefix, app=app)])) as url:
            yield url + prefix, url + prefix
    else:
        with serve(app, root_path=prefix) as url:
            yield url, url + prefix
