"""``BackgroundServer``: an ASGI app served by uvicorn on a socket bound beforehand, in a
daemon thread, for ``with`` blocks (the sandbox, the demo, tests). Needs uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Literal, Self

import uvicorn
from starlette.types import ASGIApp

_START_TIMEOUT = 10.0


class BackgroundServer:
    """``app`` served on ``listener`` in a daemon thread named ``name``; ``start`` returns
    once it serves (raising ``error`` if it does not within 10 s), ``stop`` lets requests
    in flight finish and closes the listener. ``lifespan`` as uvicorn takes it."""

    def __init__(
        self,
        app: ASGIApp,
        listener: socket.socket,
        *,
        name: str = "the app",
        error: type[Exception] = RuntimeError,
        lifespan: Literal["on", "off"] = "on",
        stop_timeout: float = 30.0,
    ) -> None:
        config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
        self._server = uvicorn.Server(config)
        self._listener = listener
        self._name = name
        self._error = error
        self._stop_timeout = stop_timeout
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the listener is bound to."""
        port: int = self._listener.getsockname()[1]
        return port

    def start(self) -> None:
        """Serve; returns once the app has started."""
        thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._listener]},
            name=self._name,
            daemon=True,
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise self._error(f"{self._name} did not start within {_START_TIMEOUT:g} s")
            time.sleep(0.005)

    def stop(self) -> bool:
        """Stop serving (requests in flight finish, the lifespan ends), close the socket;
        whether the server's thread ended within the stop timeout."""
        self._server.should_exit = True
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self._stop_timeout)
        self._listener.close()
        return thread is None or not thread.is_alive()
