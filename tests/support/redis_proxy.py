"""A loopback TCP proxy in front of a Redis server that can hold or lose its replies:
what a slow network, a failover or a dropped connection does to a client whose command
the server did run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable


class ReplyProxy:
    """Forwards connections to ``port`` on loopback. Replies pass while ``passing`` is
    set (clear it to hold them); with ``lose_next`` set, the next reply is lost with its
    connection (both sides closed: the server ran the command, the client never hears),
    and ``on_lost`` (if set) is called at once. With ``stop_at`` set, the next command
    holding those bytes is held, with what follows it (``stopped`` is set), until ``go``
    is: a step paused, even between two commands of one pipeline. With ``hold_reply_to``
    set, the reply to the next command holding those bytes is held once it arrives (the
    server ran the command; ``stopped`` is set) until ``go`` is, the connection's only;
    with ``lose_reply_to``, that reply is lost as with ``lose_next``."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.passing = asyncio.Event()
        self.passing.set()
        self.lose_next = False
        self.lost = 0
        self.on_lost: Callable[[], None] | None = None
        self.stop_at: bytes | None = None
        self.hold_reply_to: bytes | None = None
        self.lose_reply_to: bytes | None = None
        self.stopped = asyncio.Event()
        self.go = asyncio.Event()
        self._writers: list[asyncio.StreamWriter] = []
        self._forwarding: list[asyncio.Task[object]] = []

    async def forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Carry one client connection to the server and back."""
        task = asyncio.current_task()
        if task is not None:
            self._forwarding.append(task)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self._writers += [writer, up_writer]
        fate = [""]  # of this connection's next reply: "hold", "lose" or "" (it passes)
        await asyncio.gather(
            self._pump(reader, up_writer, fate, replies=False),
            self._pump(up_reader, writer, fate, replies=True, upstream=up_writer),
        )

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        fate: list[str],
        *,
        replies: bool,
        upstream: asyncio.StreamWriter | None = None,
    ) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            try:
                while data := await source.read(65536):
                    if not replies:
                        data = await self._request(data, sink, fate)
                    elif fate[0] == "hold":
                        fate[0] = ""
                        self.stopped.set()
                        await self.go.wait()
                    if replies:
                        await self.passing.wait()
                        if self.lose_next or fate[0] == "lose":
                            self.lose_next, fate[0] = False, ""
                            self.lost += 1
                            if self.on_lost is not None:
                                self.on_lost()
                            sink.transport.abort()
                            if upstream is not None:
                                upstream.transport.abort()
                            return
                    sink.write(data)
                    await sink.drain()
            finally:
                sink.close()

    async def _request(self, data: bytes, sink: asyncio.StreamWriter, fate: list[str]) -> bytes:
        """What of a client's write is still to forward, once any ``stop_at`` is over; the
        fate of its reply marked."""
        if self.stop_at is not None and self.stop_at in data:
            start = data.rfind(b"\r\n*", 0, data.find(self.stop_at))
            cut = 0 if start < 0 else start + 2  # where its command begins
            self.stop_at = None
            sink.write(data[:cut])
            await sink.drain()
            self.stopped.set()
            await self.go.wait()
            data = data[cut:]
        if self.hold_reply_to is not None and self.hold_reply_to in data:
            self.hold_reply_to, fate[0] = None, "hold"
        if self.lose_reply_to is not None and self.lose_reply_to in data:
            self.lose_reply_to, fate[0] = None, "lose"
        return data


@contextlib.asynccontextmanager
async def reply_proxy(port: int) -> AsyncIterator[tuple[ReplyProxy, int]]:
    """A ``ReplyProxy`` to ``port`` and the loopback port it listens on."""
    proxy = ReplyProxy(port)
    server = await asyncio.start_server(proxy.forward, "127.0.0.1", 0)
    try:
        yield proxy, server.sockets[0].getsockname()[1]
    finally:
        proxy.passing.set()
        proxy.go.set()
        server.close()
        for writer in proxy._writers:
            writer.close()
        await asyncio.gather(*proxy._forwarding, return_exceptions=True)
        with contextlib.suppress(Exception):
            await server.wait_closed()


@contextlib.asynccontextmanager
async def cluster_proxies(
    ports: list[int],
) -> AsyncIterator[tuple[list[ReplyProxy], Callable[[tuple[str, int]], tuple[str, int]]]]:
    """A ``ReplyProxy`` in front of each cluster node on ``ports``, and the
    ``address_remap`` a ``RedisCluster`` client needs to reach every node through them."""
    async with contextlib.AsyncExitStack() as stack:
        pairs = [await stack.enter_async_context(reply_proxy(port)) for port in ports]
        remap = {node: port for node, (_, port) in zip(ports, pairs, strict=True)}
        yield [proxy for proxy, _ in pairs], lambda address: ("127.0.0.1", remap[address[1]])
