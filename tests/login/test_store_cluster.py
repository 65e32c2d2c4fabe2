"""The Redis login and wallet stores on a real three-master Redis Cluster: records spread
over the masters, read back by another worker's client, deleted once; a stopped master
is a 503 for the records it holds, never a login."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from tca_gate.login import LoginConfigError, LoginError, LoginRecord, RedisLoginStore, TokenpassUser
from tca_gate.login.wallet import RedisWalletStore, WalletRecord
from tests.support.login import ALICE
from tests.support.redis_cluster import LoopbackCluster


def test_logins_and_sign_ins_are_shared_through_the_cluster(cluster: LoopbackCluster) -> None:
    prefix = f"login-{uuid.uuid4().hex[:8]}:"
    user = TokenpassUser.from_json(ALICE)
    sessions = [f"session-{n}" for n in range(30)]

    async def scenario() -> tuple[list[str], list[bool]]:
        one, other = (redis.asyncio.RedisCluster.from_url(cluster.url) for _ in range(2))
        try:
            saving, reading = (
                RedisLoginStore(one, prefix=prefix),
                RedisLoginStore(other, prefix=prefix),
            )
            wallets = RedisWalletStore(one, prefix=f"{prefix}wallet:")
            until = time.time() + 60
            for sid in sessions:
                await saving.save(sid, LoginRecord(user, f"token-{sid}", "user,tca", until))
            await wallets.save(sessions[0], WalletRecord("1Alice", until))
            tokens = []
            for sid in sessions:
                found = await reading.load(sid)
                assert found is not None
                tokens.append(found.access_token)
            first = await reading.delete(sessions[0])
            gone = [first is not None, await reading.delete(sessions[0]) is not None]
            wallet = await RedisWalletStore(other, prefix=f"{prefix}wallet:").load(sessions[0])
            assert wallet == WalletRecord("1Alice", until)
            return tokens, gone
        finally:
            await one.aclose()
            await other.aclose()

    tokens, gone = asyncio.run(scenario())
    assert tokens == [f"token-{sid}" for sid in sessions]
    assert gone == [True, False]  # a logout deletes the login once


def test_a_stopped_master_is_a_503_for_its_logins(cluster: LoopbackCluster) -> None:
    prefix = f"login-{uuid.uuid4().hex[:8]}:"
    user = TokenpassUser.from_json(ALICE)
    stopped = cluster.ports[0]

    async def scenario() -> list[int]:
        quick = Retry(ExponentialBackoff(cap=0.1, base=0.01), 1)  # as the cache's from_url
        client = redis.asyncio.RedisCluster.from_url(
            cluster.url, socket_connect_timeout=1.0, socket_timeout=1.0, retry=quick
        )
        store = RedisLoginStore(client, prefix=prefix, timeout=1.0)
        try:
            for n in range(12):
                await store.save(f"s{n}", LoginRecord(user, "tok", "user", time.time() + 60))
            cluster.stop(stopped)
            statuses = []
            for n in range(12):
                try:
                    await store.load(f"s{n}")
                    statuses.append(200)
                except LoginError as error:
                    statuses.append(error.status)
            return statuses
        finally:
            cluster.start(stopped)
            await client.aclose()

    statuses = asyncio.run(scenario())
    assert set(statuses) == {200, 503}
    cluster.wait_ok()


def test_a_client_without_the_commands_is_refused_at_start_up() -> None:
    with pytest.raises(LoginConfigError, match=r"redis\.asyncio\.Redis or RedisCluster client"):
        RedisLoginStore(object())  # type: ignore[arg-type]
