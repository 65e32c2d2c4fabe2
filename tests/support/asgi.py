"""ASGI apps driven by hand, message by message, where a test needs the server's side."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.types import Message


async def open_socket(
    app: Callable[..., Awaitable[None]], path: str, user: str | None, *, denial: bool = True
) -> list[Message]:
    """What ``app`` sends to a websocket handshake on ``path`` (as ``user`` when one is
    given); ``denial`` says whether the server offers the websocket denial response."""
    headers = [(b"host", b"testserver")] + ([(b"x-user", user.encode())] if user else [])
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}} if denial else {},
    }
    incoming: list[Message] = [{"type": "websocket.connect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 5)
    return sent
