"""The Redis replay stores on a real three-master Redis Cluster: claims spread over the
masters, one winner per signed request across workers, release, and a master that
stops (a 503 for its keys, never an accept) and comes back."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx2
import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tca_gate import (
    AsyncRedisReplayStore,
    RedisReplayStore,
    TokenlyAuthMiddleware,
    sign_tokenly_request,
)
from tca_gate.errors import ReplayStoreUnavailableError
from tca_gate.signing.replay import claim, release
from tests.support.redis_cluster import LoopbackCluster
from tests.support.servers import serve

TOKEN, SECRET = "TWKTkwIQDTvirh6D", "Kun2M2UladalYAeUvXyiKWhFuwrsmSreM841K45O"


def test_sync_claims_spread_over_the_masters_are_granted_once_and_released(
    cluster: LoopbackCluster,
) -> None:
    prefix = f"replay-{uuid.uuid4().hex[:8]}:"
    store = RedisReplayStore.from_url(cluster.url, prefix=prefix, cluster=True)
    keys = [f"request-{n}" for n in range(30)]
    try:
        assert [store.claim(key, 60) for key in keys] == [True] * 30
        assert [store.claim(key, 60) for key in keys] == [False] * 30
        store.release(keys[0])
        assert store.claim(keys[0], 60) is True
    finally:
        store.close()
    assert {cluster.node_of(prefix + key) for key in keys} == set(cluster.ports)


def test_async_workers_racing_for_one_request_accept_it_once(cluster: LoopbackCluster) -> None:
    key = f"same-request-{uuid.uuid4().hex}"

    async def scenario() -> list[bool]:
        stores = [AsyncRedisReplayStore.from_url(cluster.url, cluster=True) for _ in range(4)]
        try:
            wins = await asyncio.gather(*(claim(s, key, 30) for s in stores for _ in range(10)))
            await release(stores[1], key)
            wins.append(await claim(stores[2], key, 30))
            return wins
        finally:
            for store in stores:
                await store.aclose()

    assert sorted(asyncio.run(scenario())) == [False] * 39 + [True] * 2


def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def test_a_request_replayed_to_another_worker_is_refused_and_a_stopped_master_is_a_503(
    cluster: LoopbackCluster,
) -> None:
    """Two apps on the cluster: a replay to the other is refused; with the master of a
    request's key stopped that request is a 503, and after the restart it is accepted."""
    prefix = f"hook-{uuid.uuid4().hex}:"
    stores = [RedisReplayStore.from_url(cluster.url, prefix=prefix, cluster=True) for _ in range(2)]
    apps = [
        TokenlyAuthMiddleware(
            Starlette(routes=[Route("/echo", _echo, methods=["POST"])]),
            secret_for={TOKEN: SECRET},
            replay_store=store,
            public_url="https://api.example.com",
        )
        for store in stores
    ]

    def signed(n: int) -> tuple[str, dict[str, str]]:
        """A signed request, sent as is every time (the same signature: a replay)."""
        params = {"n": n}
        headers = sign_tokenly_request(
            "POST", "https://api.example.com/echo", params, TOKEN, SECRET
        )
        headers["Content-Type"] = "application/json"
        return json.dumps(params, separators=(",", ":")), headers

    requests = {n: signed(n) for n in range(1, 14)}

    def post(base: str, n: int) -> httpx2.Response:
        body, headers = requests[n]
        return httpx2.post(f"{base}/echo", content=body, headers=headers)

    with serve(apps[0]) as first, serve(apps[1]) as second:
        assert post(first, 1).status_code == 200
        replayed = post(second, 1)
        assert (replayed.status_code, replayed.json()["error"]) == (401, "replayed-request")

        stopped = cluster.ports[2]
        cluster.stop(stopped)
        try:
            answers = {n: post(second, n).status_code for n in range(2, 14)}
        finally:
            cluster.start(stopped)
        assert set(answers.values()) == {200, 503}  # keys on the stopped master: refused
        refused = min(n for n, status in answers.items() if status == 503)
        deadline = time.monotonic() + 15
        while (status := post(first, refused).status_code) == 503:
            assert time.monotonic() < deadline, "the cluster did not come back"
            time.sleep(0.1)
        assert status == 200  # the refused request was never claimed: accepted now, once
        assert post(second, refused).status_code == 401
    for store in stores:
        store.close()
    cluster.wait_ok()


def test_an_unreachable_cluster_raises_rather_than_accepts() -> None:
    # the sync client reads the cluster's layout when made: no store on no cluster
    with pytest.raises(redis.exceptions.RedisClusterException, match="cannot be connected"):
        RedisReplayStore.from_url("redis://127.0.0.1:1/0", cluster=True)

    async def scenario() -> None:
        store = AsyncRedisReplayStore.from_url("redis://127.0.0.1:1/0", cluster=True)
        try:
            await claim(store, "k", 10)
        finally:
            await store.aclose()

    with pytest.raises(ReplayStoreUnavailableError):
        asyncio.run(scenario())
