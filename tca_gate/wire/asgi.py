"""ASGI plumbing the verifying flow and the gate share: the path routing sees, read a
request body within a limit, hand it on to the app as if unread, and answer in JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

#: The largest request body a verifying middleware reads to check its signature, by default.
DEFAULT_MAX_BODY = 1 << 20


def route_path(scope: Scope) -> str:
    """The path routing sees: ``scope["path"]`` without the ``root_path`` it starts with
    (as Starlette's router takes it off, under a proxy's prefix or inside a ``Mount``).

    A middleware that chooses what to guard by path must judge this one: judged on
    ``scope["path"]``, a mounted app's routes would escape a rule written for them.
    """
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :]
    return path


async def read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The whole body, or ``b""`` and True when it passed ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the real stream."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def respond_json(
    scope: Scope,
    send: Send,
    status: int,
    content: Any,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer with ``content`` as JSON (the request's body is not read further)."""
    response = JSONResponse(content, status_code=status, headers=headers)
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
