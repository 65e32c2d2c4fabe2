"""Replay stores in a real redis-server: one atomic claim per signed request, shared by workers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import httpx2
import pytest
import redis
import redis.asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tca_gate import (
    AsyncRedisReplayStore,
    RedisReplayStore,
    TokenlyAuthMiddleware,
    sign_tokenly_request,
    verify_tokenly_request,
)
from tests.support.redis_server import free_port, redis_server
from tests.support.servers import serve

TOKEN, SECRET = "TWKTkwIQDTvirh6D", "Kun2M2UladalYAeUvXyiKWhFuwrsmSreM841K45O"


def test_a_claim_is_granted_once_and_expires(redis_client: redis.Redis) -> None:
    store = RedisReplayStore(redis_client)
    assert store.claim("k", 0.2) is True
    assert store.claim("k", 0.2) is False
    assert redis_client.exists("tca-gate:replay:k") == 1
    assert 0 < redis_client.pttl("tca-gate:replay:k") <= 200
    time.sleep(0.3)
    assert store.claim("k", 0.2) is True


def test_the_prefix_keeps_stores_apart(redis_client: redis.Redis) -> None:
    first, second = RedisReplayStore(redis_client), RedisReplayStore(redis_client, prefix="b:")
    assert first.claim("k", 10) is True
    assert second.claim("k", 10) is True
    assert first.claim("k", 10) is False


def test_a_window_must_be_positive(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="positive"):
        RedisReplayStore(redis_client).claim("k", 0)


def test_concurrent_workers_accept_a_request_exactly_once(redis_url: str) -> None:
    """Sixteen threads, each its own connection, race for the same key: one wins."""
    redis.Redis.from_url(redis_url).flushdb()
    stores = [RedisReplayStore.from_url(redis_url) for _ in range(16)]
    barrier = threading.Barrier(len(stores))
    wins: list[bool] = []

    def race(store: RedisReplayStore) -> None:
        barrier.wait()
        wins.append(store.claim("same-request", 30))

    threads = [threading.Thread(target=race, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 15 + [True]
    for store in stores:
        store.close()


def test_the_async_store_claims_atomically(redis_url: str) -> None:
    async def scenario() -> list[bool]:
        client = redis.asyncio.Redis.from_url(redis_url)
        await client.flushdb()
        store = AsyncRedisReplayStore(client)
        results = await asyncio.gather(*(store.claim("k", 30) for _ in range(50)))
        await store.aclose()
        return list(results)

    assert sorted(asyncio.run(scenario())) == [False] * 49 + [True]


def test_the_verifier_refuses_a_replay_through_redis(redis_client: redis.Redis) -> None:
    url = "https://api.example.com/api/v1/tca/check/alice"
    headers = sign_tokenly_request("GET", url, None, TOKEN, SECRET)
    store = RedisReplayStore(redis_client)
    signed = verify_tokenly_request(
        "GET", url, headers, secret_for={TOKEN: SECRET}, replay_store=store
    )
    assert signed.api_token == TOKEN
    with pytest.raises(Exception, match="already used") as refused:
        verify_tokenly_request("GET", url, headers, secret_for={TOKEN: SECRET}, replay_store=store)
    assert getattr(refused.value, "reason", None) == "replayed-request"


def test_an_unreachable_store_raises_rather_than_accepts() -> None:
    store = RedisReplayStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(redis.ConnectionError):
        store.claim("k", 10)
    store.close()


def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def test_two_app_workers_share_the_store_over_http(redis_url: str) -> None:
    """Two separately served apps on one Redis: a request replayed to the other is refused."""
    apps = [
        TokenlyAuthMiddleware(
            Starlette(routes=[Route("/echo", _echo, methods=["POST"])]),
            secret_for={TOKEN: SECRET},
            replay_store=RedisReplayStore.from_url(redis_url),
            public_url="https://api.example.com",
        )
        for _ in range(2)
    ]
    redis.Redis.from_url(redis_url).flushdb()
    body = json.dumps({"amount": 1}, separators=(",", ":"))
    headers = sign_tokenly_request(
        "POST", "https://api.example.com/echo", {"amount": 1}, TOKEN, SECRET
    )
    headers["Content-Type"] = "application/json"
    with serve(apps[0]) as first, serve(apps[1]) as second:
        accepted = httpx2.post(f"{first}/echo", content=body, headers=headers)
        replayed = httpx2.post(f"{second}/echo", content=body, headers=headers)
    assert accepted.status_code == 200
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "replayed-request"
    for app in apps:
        assert isinstance(app.replay_store, RedisReplayStore)
        app.replay_store.close()


def test_redis_down_refuses_with_503_never_accepts() -> None:
    store = RedisReplayStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    app = TokenlyAuthMiddleware(
        Starlette(routes=[Route("/echo", _echo, methods=["POST"])]),
        secret_for={TOKEN: SECRET},
        replay_store=store,
    )
    with serve(app) as base:
        body = json.dumps({"amount": 1}, separators=(",", ":"))
        headers = sign_tokenly_request("POST", f"{base}/echo", {"amount": 1}, TOKEN, SECRET)
        headers["Content-Type"] = "application/json"
        response = httpx2.post(f"{base}/echo", content=body, headers=headers)
    assert response.status_code == 503
    assert response.json()["error"] == "replay-store-unavailable"
    assert "ok" not in response.json()
    store.close()


def test_a_store_that_dies_mid_run_refuses_then_recovers(tmp_path: Path) -> None:
    port = free_port()
    store = RedisReplayStore.from_url(f"redis://127.0.0.1:{port}/0")
    app = TokenlyAuthMiddleware(
        Starlette(routes=[Route("/echo", _echo, methods=["POST"])]),
        secret_for={TOKEN: SECRET},
        replay_store=store,
    )
    with serve(app) as base:

        def post() -> int:
            params = {"n": time.time_ns()}
            headers = sign_tokenly_request("POST", f"{base}/echo", params, TOKEN, SECRET)
            headers["Content-Type"] = "application/json"
            body = json.dumps(params, separators=(",", ":"))
            return httpx2.post(f"{base}/echo", content=body, headers=headers).status_code

        with redis_server(tmp_path / "a", port):
            assert post() == 200
        assert post() == 503
        with redis_server(tmp_path / "b", port):
            assert post() == 200
    store.close()
