"""``tca_gate.wire.serving``, the one way an app is served under uvicorn: a socket bound
first (a clear error when it cannot be), served in a background thread for a ``with``
block, or in the foreground until Ctrl-C or SIGTERM, which end it cleanly (exit 0)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tca_gate.errors import SandboxError
from tca_gate.wire.serving import BackgroundServer, listen


async def where(request: Request) -> JSONResponse:
    """What the app sees of its mounting and which thread serves it."""
    return JSONResponse(
        {"root_path": request.scope.get("root_path"), "thread": threading.current_thread().name}
    )


APP = Starlette(routes=[Route("/where", where)])


def test_listen_names_the_port_it_cannot_take_in_the_error_asked_for() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"^cannot listen on 127.0.0.1 port {port}: "):
            listen("127.0.0.1", port)
        with pytest.raises(SandboxError, match="Address already in use"):
            listen("127.0.0.1", port, error=SandboxError)


def test_a_background_server_serves_in_its_thread_until_stopped() -> None:
    listener = listen("127.0.0.1", 0)
    with BackgroundServer(APP, listener, name="served-here", root_path="/behind") as server:
        url = server.url
        assert url == f"http://127.0.0.1:{server.port}"
        seen = httpx2.get(f"{url}/where").json()
    assert seen == {"root_path": "/behind", "thread": "served-here"}
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{url}/where")


FOREGROUND = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from tca_gate.wire.serving import listen, serve_in_foreground

    listener = listen("127.0.0.1", 0)
    print("serving on", listener.getsockname()[1], flush=True)
    serve_in_foreground(Starlette(), listener)
    print("stopped", flush=True)
    """
)


def _started(command: list[str], pattern: str) -> tuple[subprocess.Popen[str], str]:
    """``command`` running, and what ``pattern`` found in the first line that matches."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(pattern, line)
        if found:
            return process, found[1]
    process.kill()
    raise AssertionError(f"no line matched {pattern!r}: {process.communicate()}")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_foreground_ends_cleanly_on_ctrl_c_or_sigterm(stop: signal.Signals) -> None:
    process, port = _started([sys.executable, "-c", FOREGROUND], r"^serving on (\d+)")
    try:
        assert httpx2.get(f"http://127.0.0.1:{port}/").status_code == 404  # served
    finally:
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    assert (process.returncode, out, err) == (0, "stopped\n", "")


def test_the_sandbox_command_serves_in_the_foreground_with_an_access_log() -> None:
    command = [sys.executable, "-m", "tca_gate", "sandbox", "--port", "0"]
    process, url = _started(command, r"^tca-gate sandbox on (http://127\.0\.0\.1:\d+) ")
    try:
        assert httpx2.get(f"{url}/openapi.json").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert '"GET /openapi.json HTTP/1.1" 200' in out  # uvicorn's access log, on stdout
