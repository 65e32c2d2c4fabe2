"""Serving an ASGI app under uvicorn on a socket bound beforehand: in a background thread
(for tests and ``with`` blocks) or in the foreground until Ctrl-C (for the command line)."""

from __future__ import annotations

import ipaddress
import signal
import socket
import threading
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from tca_gate.errors import DemoError
from tca_gate.wire.serving import BackgroundServer

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 30.0


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


def background_server(app: ASGIApp, listener: socket.socket) -> BackgroundServer:
    """``app`` served on ``listener`` in a background thread, lifespan on."""
    return BackgroundServer(app, listener, name="the tca-gate demo app", error=DemoError)


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
