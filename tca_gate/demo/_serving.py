"""Serving an ASGI app under uvicorn on a socket bound beforehand: in a background thread
(for tests and ``with`` blocks) or in the foreground until Ctrl-C (for the command line)."""

from __future__ import annotations

import ipaddress
import signal
import socket
import threading
import time
from types import FrameType, TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

from tca_gate._errors import TcaGateError

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 30.0


class DemoError(TcaGateError, RuntimeError):
    """The demo (or an example's server) could not start; the message says why."""


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port`` (0: a free port); ``DemoError`` saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as error:
        reason = error.strerror or str(error)
        raise DemoError(f"cannot listen on {host} port {port}: {reason}") from None


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


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address.

    >>> is_loopback("localhost"), is_loopback("127.0.0.2"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _server(app: ASGIApp) -> uvicorn.Server:
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    return uvicorn.Server(config)


class BackgroundServer:
    """``app`` served on ``listener`` by uvicorn in a daemon thread while the ``with``
    block runs; its lifespan runs at start and stop. The listener is closed on stop."""

    def __init__(self, app: ASGIApp, listener: socket.socket) -> None:
        self._server = _server(app)
        self._listener = listener
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

    def start(self) -> None:
        """Serve; returns once the app has started (``DemoError`` if it does not)."""
        thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._listener]},
            name="tca-gate demo app",
            daemon=True,
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise DemoError(f"the app did not start within {_START_TIMEOUT:g} s")
            time.sleep(0.005)

    def stop(self) -> None:
        """Stop serving (requests in flight finish, the lifespan ends) and close the socket."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_STOP_TIMEOUT)
            self._thread = None
        self._listener.close()


def serve_in_foreground(app: ASGIApp, listener: socket.socket) -> None:
    """Serve ``app`` on ``listener`` in this thread until Ctrl-C or SIGTERM, then return
    (after uvicorn's graceful shutdown) instead of dying of the signal."""
    server = _server(app)
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
