"""A real ``redis-server`` for the herd across processes: loopback only, nothing saved."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import redis

#: Seconds a fresh ``redis-server`` has to answer PING.
START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_it_answers(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with redis.Redis.from_url(url) as client:
        while True:
            with contextlib.suppress(redis.ConnectionError):
                client.ping()
                return
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """Its URL while it runs on a free loopback port, in a scratch directory; None when
    ``redis-server`` is not installed (``scripts/system-packages`` installs it)."""
    executable = shutil.which("redis-server")
    if executable is None:
        yield None
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as scratch:
        options = ("--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no")
        process = subprocess.Popen(
            [executable, *options, "--dir", scratch],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"redis://127.0.0.1:{port}/0"
            _wait_until_it_answers(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)
