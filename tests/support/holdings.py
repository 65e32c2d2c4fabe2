"""Balances a test changes while the app runs, and the app whose open connections it revokes.

``Holdings`` is a balance source reading a JSON file of ``{user: {asset: amount}}`` on
every call (so worker processes see a change together); ``revoking_app`` guards a
websocket (middleware and decorator) and streams of server-sent events, with a route
that makes the cache ``forget`` users, as the balance webhook does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Lifespan, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from tca_gate import (
    BalanceUnavailableError,
    Gate,
    Holder,
    TcaGateMiddleware,
    UnknownHolderError,
    requires_tokens,
)
from tca_gate.balances import HolderKind

#: One token, in satoshis.
COIN = 100_000_000


class Holdings:
    """A ``BalanceSource`` answering from ``path``, read afresh on every call (``users``, if
    given, written there first); a user set to ``None`` cannot be read
    (``BalanceUnavailableError``); a user in ``hanging`` is never answered (in this
    process: a source with no deadline of its own, hung). ``calls`` counts the calls made
    in this process."""

    def __init__(
        self, path: Path, users: Mapping[str, Mapping[str, int] | None] | None = None
    ) -> None:
        self.path = path
        self.calls = 0
        self.hanging: set[str] = set()
        if users is not None:
            self.set(users)

    def __repr__(self) -> str:
        return "Holdings()"

    def set(self, users: Mapping[str, Mapping[str, int] | None]) -> None:
        """Replace the balances of ``users`` (the others are kept)."""
        known = json.loads(self.path.read_text()) if self.path.exists() else {}
        written = self.path.with_suffix(".new")
        written.write_text(json.dumps({**known, **users}))
        written.replace(self.path)  # at once: a reader never sees half a file

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        self.calls += 1
        users = json.loads(self.path.read_text())
        name = holder.owner if holder.kind is HolderKind.TOKEN else holder.value
        if name in self.hanging:
            await asyncio.Event().wait()
        if not isinstance(name, str) or name not in users:
            raise UnknownHolderError("no such holder")
        if users[name] is None:
            raise BalanceUnavailableError("the holdings cannot be read")
        return MappingProxyType(dict(users[name]))


def from_query(conn: HTTPConnection) -> Holder | None:
    """``?user=NAME``, or ``?token=T&owner=NAME`` (a login's token and its user)."""
    name, token = conn.query_params.get("user"), conn.query_params.get("token")
    if token:
        return Holder.token(token, owner=conn.query_params.get("owner"))
    return Holder.user(name) if name else None


async def echo(websocket: WebSocket) -> None:
    """Greet, then echo until the client leaves."""
    await websocket.accept()
    await websocket.send_text("welcome")
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


async def news(websocket: WebSocket) -> None:
    """Greet, then push news every 20 ms without reading (so it never hears the client
    leave: its send fails instead)."""
    await websocket.accept()
    await websocket.send_text("welcome")
    while True:
        await websocket.send_text("news")
        await asyncio.sleep(0.02)


@requires_tokens("LTBCOIN >= 1000")
async def whales(websocket: WebSocket) -> None:
    await echo(websocket)


async def ticks(request: Request) -> StreamingResponse:
    """Server-sent events: a tick every 20 ms, for ever."""

    async def events() -> AsyncIterator[str]:
        count = 0
        while True:
            count += 1
            yield f"data: tick {count}\n\n"
            await asyncio.sleep(0.02)

    return StreamingResponse(events(), media_type="text/event-stream")


class GroupedEvents(Response):
    """Server-sent events from a task group: a tick every 20 ms and a keep-alive comment
    as often, each from a task of its own. It learns that the client left only when a
    send raises (an exception group, out of the task group), as apps under ASGI 2.4 do."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        async def every_20_ms(event: str) -> None:
            count = 0
            while True:
                count += 1
                body = event.format(count=count).encode()
                await send({"type": "http.response.body", "body": body, "more_body": True})
                await asyncio.sleep(0.02)

        async with anyio.create_task_group() as group:
            group.start_soon(every_20_ms, "data: tick {count}\n\n")
            group.start_soon(every_20_ms, ": keep-alive\n\n")


async def grouped_ticks(request: Request) -> GroupedEvents:
    return GroupedEvents()


async def slow(request: Request) -> PlainTextResponse:
    """A long poll that answers only once the client has gone (or the gate answered)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    return PlainTextResponse("too late")


def revoking_app(
    gate: Gate, *, routes: Sequence[BaseRoute] = (), lifespan: Lifespan[Starlette] | None = None
) -> Starlette:
    """Websockets ``/chat`` (echoes) and ``/news`` (pushes), ``TOKENLY >= 1`` by the
    middleware, and ``/whales`` by the decorator; server-sent events ``/ticks`` and
    ``/grouped-ticks`` (revocable) and ``/plain-ticks`` (not), and a revocable long poll
    ``/slow``, all ``TOKENLY >= 1``. ``POST /forget?user=NAME`` makes the gate's cache
    forget NAME, ``POST /clear`` everyone; ``GET /live`` says whether its change feed is
    live. ``routes`` are added, ``lifespan`` is the app's."""

    async def forget(request: Request) -> JSONResponse:
        cache = gate.balances
        names = request.query_params.getlist("user")
        dropped = await cache.forget(usernames=names)  # type: ignore[attr-defined]
        return JSONResponse({"forgotten": dropped})

    async def clear(request: Request) -> JSONResponse:
        gate.balances.clear()  # type: ignore[attr-defined]
        return JSONResponse({"cleared": True})

    async def live(request: Request) -> JSONResponse:
        feed = getattr(gate.balances, "changes", None)
        return JSONResponse({"live": bool(getattr(feed, "live", False))})

    rules: dict[str, str | dict[str, object]] = {
        "/chat": "TOKENLY >= 1",
        "/news": "TOKENLY >= 1",
        "/ticks": {"rule": "TOKENLY >= 1", "revocable": True},
        "/grouped-ticks": {"rule": "TOKENLY >= 1", "revocable": True},
        "/plain-ticks": "TOKENLY >= 1",
        "/slow": {"rule": "TOKENLY >= 1", "revocable": True},
    }
    return Starlette(
        routes=[
            WebSocketRoute("/chat", echo),
            WebSocketRoute("/news", news),
            WebSocketRoute("/whales", whales),
            Route("/ticks", ticks),
            Route("/grouped-ticks", grouped_ticks),
            Route("/plain-ticks", ticks),
            Route("/slow", slow),
            Route("/forget", forget, methods=["POST"]),
            Route("/clear", clear, methods=["POST"]),
            Route("/live", live),
            *routes,
        ],
        lifespan=lifespan,
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules=rules)],
    )
