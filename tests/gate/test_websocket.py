"""Websockets through the gate over a real uvicorn on loopback: a holder who passes is
accepted and sees the verdict; one who falls short, or nobody, is refused at the handshake."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tca_gate import (
    CachedBalances,
    Gate,
    Holder,
    StaticBalances,
    TcaGateMiddleware,
    requires_tokens,
)
from tests.support.servers import serve

HOLDINGS = StaticBalances(
    {
        "users": {
            "alice": {"public": {"TOKENLY": 200_000_000}},
            "bob": {"public": {"LTBCOIN": 880_000_000_000}},
        }
    }
)


def from_query(conn: HTTPConnection) -> Holder | None:
    name = conn.query_params.get("user")
    return Holder.user(name) if name else None


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    verdict = websocket.state.tca_gate
    await websocket.send_text(f"{verdict.outcome.value} {verdict.holder.value}")
    await websocket.close()


@requires_tokens("LTBCOIN >= 1000")
async def whales(websocket: WebSocket) -> None:
    await chat(websocket)


def make_app() -> Starlette:
    gate = Gate(CachedBalances(HOLDINGS), identity=from_query)
    return Starlette(
        routes=[WebSocketRoute("/chat", chat), WebSocketRoute("/whales", whales)],
        middleware=[Middleware(TcaGateMiddleware, gate=gate, rules={"/chat": "TOKENLY >= 1"})],
    )


async def first_message(url: str) -> str:
    async with connect(url, open_timeout=5) as socket:
        message = await asyncio.wait_for(socket.recv(), 5)
        assert isinstance(message, str)
        return message


async def refused_status(url: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, open_timeout=5):
            pass
    return refused.value.response.status_code


def test_the_middleware_accepts_a_holder_and_refuses_the_rest_at_the_handshake() -> None:
    with serve(make_app()) as base:
        url = base.replace("http://", "ws://") + "/chat"
        assert asyncio.run(first_message(f"{url}?user=alice")) == "allowed alice"
        assert asyncio.run(refused_status(f"{url}?user=bob")) == 403
        assert asyncio.run(refused_status(url)) == 401


def test_the_decorator_guards_a_websocket_endpoint() -> None:
    with serve(make_app()) as base:
        url = base.replace("http://", "ws://") + "/whales"
        assert asyncio.run(first_message(f"{url}?user=bob")) == "allowed bob"
        assert asyncio.run(refused_status(f"{url}?user=alice")) == 403
        assert asyncio.run(refused_status(url)) == 401
