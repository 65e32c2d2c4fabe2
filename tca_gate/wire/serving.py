"""Serving an ASGI app under uvicorn on a socket bound beforehand, one way for everyone
(the sandbox, the demo, the examples, the CLI, the tests): ``listen`` binds the socket,
``BackgroundServer`` serves it in a daemon thread for a ``with`` block, and
``serve_in_foreground`` in the calling thread until Ctrl-C or SIGTERM. Needs uvicorn."""

from __future__ import annotations

import signal
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Literal, Self

import uvicorn
from starlette.types import ASGIApp

_START_TIMEOUT = 10.0


def listen(
    host: str, port: int, *, error: Callable[[str], Exception] = RuntimeError
) -> socket.socket:
    """A socket listening on ``host``:``port`` (0: a free port), or ``error`` saying why not
    (the port in use, the address not this machine's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as failure:
        reason = failure.strerror or str(failure)
        raise error(f"cannot listen on {host} port {port}: {reason}") from None


def local_url(host: str, port: int) -> str:
    """The URL a browser on this machine opens for a server on ``host``:``port``.

    >>> local_url("0.0.0.0", 8000), local_url("localhost", 8000), local_url("::1", 80)
    ('http://127.0.0.1:8000', 'http://localhost:8000', 'http://[::1]:80')
    """
    shown = host.strip("[]")
    if shown in ("", "0.0.0.0", "::"):  # noqa: S104 (naming the wildcard, not binding it)
        shown = "127.0.0.1"
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _server(
    app: ASGIApp,
    *,
    lifespan: Literal["on", "off"] = "on",
    root_path: str = "",
    log_level: str = "warning",
    access_log: bool = False,
) -> uvicorn.Server:
    config = uvicorn.Config(
        app, lifespan=lifespan, root_path=root_path, log_level=log_level, access_log=access_log
    )
    return uvicorn.Server(config)


class Startable(ABC):
    """Something started and stopped, by hand or by a ``with`` block around its use."""

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

    @abstractmethod
    def start(self) -> None:
        """Start; returns once it runs."""

    @abstractmethod
    def stop(self) -> object:
        """Stop what ``start`` started (a second call does nothing)."""


class BackgroundServer(Startable):
    """``app`` served on ``listener`` in a daemon thread named ``name``; ``start`` returns
    once it serves (raising ``error`` if it does not within 10 s), ``stop`` lets requests
    in flight finish and closes the listener. ``lifespan`` as uvicorn takes it;
    ``root_path`` serves the app as behind a proxy that strips that prefix."""

    def __init__(
        self,
        app: ASGIApp,
        listener: socket.socket,
        *,
        name: str = "the app",
        error: type[Exception] = RuntimeError,
        lifespan: Literal["on", "off"] = "on",
        root_path: str = "",
        stop_timeout: float = 30.0,
    ) -> None:
        self._server = _server(app, lifespan=lifespan, root_path=root_path)
        self._listener = listener
        self._name = name
        self._error = error
        self._stop_timeout = stop_timeout
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the listener is bound to."""
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """``http://host:port`` of the listener's address (the wildcard as loopback)."""
        return local_url(self._listener.getsockname()[0], self.port)

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
                stuck = "" if self.stop() else f" and did not stop within {self._stop_timeout:g} s"
                raise self._error(f"{self._name} did not start within {_START_TIMEOUT:g} s{stuck}")
            time.sleep(0.005)

    def stop(self) -> bool:
        """Stop serving (requests in flight finish, the lifespan ends), close the socket;
        whether the server's thread has ended. A thread still running after the stop
        timeout is kept, so a later ``stop`` waits for it again and reports it."""
        self._server.should_exit = True
        thread = self._thread
        if thread is not None:
            thread.join(timeout=self._stop_timeout)
            if not thread.is_alive():
                self._thread = None
        self._listener.close()
        return self._thread is None


def serve_in_foreground(
    app: ASGIApp, listener: socket.socket, *, log_level: str = "warning", access_log: bool = False
) -> None:
    """Serve ``app`` (lifespan on) on ``listener`` in this thread until Ctrl-C or SIGTERM,
    then return (after uvicorn's graceful shutdown) instead of dying of the signal."""
    server = _server(app, log_level=log_level, access_log=access_log)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:  # uvicorn stopped, then passed the signal on: a normal end
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        listener.close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
