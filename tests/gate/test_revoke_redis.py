"""Revoking access across worker processes sharing a Redis cache: the balance webhook
received by one worker closes, with 1008, the websocket its holder has open on another
(through the cache's Redis change feed: no sweep runs); other holders keep theirs."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tca_gate import sign_tokenly_request
from tests.support.holdings import COIN, Holdings
from tests.support.processes import Started
from tests.support.revoke_worker import WEBHOOK_SECRET, WEBHOOK_TOKEN

#: How long a test waits for what should happen at once (a generous margin, not a target).
PATIENCE = 5.0


@pytest.fixture(params=["", "60"], ids=["redis", "near-cache"])
def workers(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[list[str]]:
    """Two worker processes on one Redis cache (with a near cache of a minute, or none) and
    one holdings file: their base URLs."""
    Holdings(
        tmp_path / "holdings.json",
        {"alice": {"TOKENLY": 2 * COIN}, "carol": {"TOKENLY": 5 * COIN}},
    )
    command = [sys.executable, "-m", "tests.support.revoke_worker", redis_url, "revoke:"]
    near_ttl = [request.param] if request.param else []
    started = [Started([*command, str(tmp_path / "holdings.json"), *near_ttl]) for _ in range(2)]
    try:
        yield [worker.read_until(r"serving (\S+)")[1][1] for worker in started]
    finally:
        for worker in started:
            code, errors = worker.interrupt()
            assert code == 0, errors
            assert "Traceback" not in errors, errors


async def opened(url: str) -> ClientConnection:
    socket = await connect(url, open_timeout=PATIENCE)
    assert await asyncio.wait_for(socket.recv(), PATIENCE) == "welcome"
    return socket


async def until_live(http: httpx2.AsyncClient, base: str) -> None:
    """Wait until the worker's change feed hears the channel."""
    async with asyncio.timeout(PATIENCE):
        while not (await http.get(f"{base}/live")).json()["live"]:
            await asyncio.sleep(0.02)


async def send_webhook(http: httpx2.AsyncClient, base: str, usernames: list[str]) -> None:
    """The balance webhook, signed as the service sends it."""
    event = {"event": "balances.changed", "usernames": usernames}
    headers = sign_tokenly_request("POST", f"{base}/hooks", event, WEBHOOK_TOKEN, WEBHOOK_SECRET)
    headers["Content-Type"] = "application/json"
    answer = await http.post(
        f"{base}/hooks", content=json.dumps(event, separators=(",", ":")), headers=headers
    )
    assert answer.status_code == 200, answer.text


def test_a_webhook_on_one_worker_closes_the_holder_s_socket_on_the_other(
    workers: list[str], tmp_path: Path
) -> None:
    first, second = workers
    holdings = Holdings(tmp_path / "holdings.json")

    async def scenario() -> None:
        chat = second.replace("http://", "ws://") + "/chat"
        alice, carol = await opened(f"{chat}?user=alice"), await opened(f"{chat}?user=carol")
        here = await opened(first.replace("http://", "ws://") + "/chat?user=alice")
        async with httpx2.AsyncClient(timeout=PATIENCE) as http:
            await until_live(http, second)
            holdings.set({"alice": {"TOKENLY": COIN // 2}})
            await send_webhook(http, first, ["alice", "carol"])
        for socket in (alice, here):
            with pytest.raises(ConnectionClosed) as ended:
                await asyncio.wait_for(socket.recv(), PATIENCE)
            assert ended.value.rcvd is not None
            assert (ended.value.rcvd.code, ended.value.rcvd.reason) == (
                1008,
                "insufficient-tokens",
            )
        await carol.send("still here?")
        assert await asyncio.wait_for(carol.recv(), PATIENCE) == "still here?"
        await carol.close()

    asyncio.run(scenario())
