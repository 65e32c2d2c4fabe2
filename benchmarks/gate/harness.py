"""What every part shares: the run's settings, the apps' common pieces, and the child
processes that serve an app under uvicorn on a loopback socket bound here."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp

SAT = 100_000_000
#: The repository root: the child processes import the benchmarks from there.
ROOT = Path(__file__).resolve().parents[2]
#: The command line whose hidden options (``--serve``, ``--memory-probe``) are the children.
COMMAND = "benchmarks.bench_gate"

#: The demo rule: alice passes it (she holds TOKENLY), carol holds nothing.
RULE = "TOKENLY >= 1 or LTBCOIN >= 10000"
#: The header naming the user: the cheap identity of the throughput apps.
USER_HEADER = "x-user"

Log = Callable[[str], None]


@dataclass(frozen=True)
class Settings:
    """How long and how hard to run; ``FULL`` and ``QUICK``, or the command line's."""

    rounds: int = 7
    duration: int = 4  # seconds per wrk run (wrk takes whole seconds)
    warmup: int = 2  # seconds of unrecorded wrk per variant before the rounds; 0: none
    connections: int = 32
    herd: int = 1000
    herd_delay: float = 2.0  # seconds the sandbox holds the first balance answer back
    identities: int = 100_000
    rss: bool = True  # also measure RSS growth (one fresh process per store)


FULL = Settings()
QUICK = Settings(
    rounds=1,
    duration=1,
    warmup=0,
    connections=16,
    herd=100,
    herd_delay=0.5,
    identities=2000,
    rss=False,
)


async def hello(request: Request) -> Response:
    """Every app's endpoint: it greets the user the request names. This is the app's
    own identity work, the same in the bare app as behind the gate."""
    return PlainTextResponse(f"hello {request.headers.get(USER_HEADER, 'stranger')}")


def http_implementation() -> str:
    """uvicorn's ``httptools`` parser when it is installed, else ``h11``."""
    return "httptools" if find_spec("httptools") is not None else "h11"


def child(option: str, spec: Mapping[str, Any]) -> list[str]:
    """The command of a child process: the benchmark's command line, run from ``ROOT``,
    with one of its hidden options and the ``spec`` it takes as JSON."""
    return [sys.executable, "-m", COMMAND, option, json.dumps(spec)]


def serve(spec: Mapping[str, Any], app_of: Callable[[Mapping[str, Any]], ASGIApp]) -> None:
    """In a server process: the app ``app_of`` builds for ``spec``, under uvicorn (one
    worker, access log off), on the socket ``spec`` passes in, on ``spec``'s core if any."""
    if spec.get("cpu") is not None:
        os.sched_setaffinity(0, {spec["cpu"]})
    config = uvicorn.Config(
        app_of(spec),
        http=http_implementation(),
        loop="asyncio",
        access_log=False,
        log_level="warning",
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=spec["fd"])])


class ServerProcess:
    """An app under uvicorn in a child process, on a loopback socket bound here."""

    def __init__(self, spec: Mapping[str, Any], cpu: int | None) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(4096)  # room for a whole herd
        port = listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.name = str(spec["app"])
        command = child("--serve", {**spec, "fd": listener.fileno(), "cpu": cpu})
        self.process = subprocess.Popen(command, cwd=ROOT, pass_fds=[listener.fileno()])
        listener.close()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.name} app exited ({self.process.returncode})")
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(self.url + "/_stats", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name} app did not start in {timeout:g} s")
            time.sleep(0.05)

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx2.get(self.url + "/_stats", timeout=10).json()
        return answer

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # uvicorn shuts down gracefully
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def servers(*specs: tuple[Mapping[str, Any], int | None]) -> Iterator[list[ServerProcess]]:
    """Start an app process for each (spec, cpu), all at once; stop them after."""
    started: list[ServerProcess] = []
    try:
        for spec, cpu in specs:
            started.append(ServerProcess(spec, cpu))
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


def cpu_plan() -> tuple[int | None, int | None]:
    """The servers' core and the load generator's: two different ones when there are."""
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None, None
    return usable[0], usable[1]
