"""Shared fixtures: real servers the tests talk to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.support.redis_cluster import LoopbackCluster, redis_cluster, valkey_server
from tests.support.redis_server import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real ``redis-server`` shared by the session's tests."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client on an emptied database."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    """A real three-master Redis Cluster on loopback shared by the session's tests; a test
    that stops a node starts it again before it ends."""
    with redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as started:
        yield started


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    """The same cluster of Valkey's ``valkey-server`` nodes."""
    with redis_cluster(tmp_path_factory.mktemp("valkey-cluster"), valkey_server()) as started:
        yield started
