"""Replay stores in Redis, shared by every worker: one atomic ``SET NX PX`` per signed request."""

from __future__ import annotations

import math
from collections.abc import Awaitable
from typing import Any, Protocol

#: The prefix of every key the stores write, so they are easy to find and never collide.
DEFAULT_PREFIX = "tca-gate:replay:"


class SyncRedis(Protocol):
    """The one call of ``redis.Redis`` the store makes."""

    def set(self, name: str, value: bytes, *, nx: bool, px: int) -> Any:
        """Set ``name`` only if absent, expiring after ``px`` milliseconds."""
        ...


class AsyncRedis(Protocol):
    """The one call of ``redis.asyncio.Redis`` the store makes."""

    def set(self, name: str, value: bytes, *, nx: bool, px: int) -> Awaitable[Any]:
        """Set ``name`` only if absent, expiring after ``px`` milliseconds."""
        ...


class RedisReplayStore:
    """A ``ReplayStore`` in Redis for apps on several workers or machines.

    Each claim is one atomic set-if-absent with an expiry, so two workers that see
    the same signed request at once cannot both accept it. A Redis error propagates:
    the request is refused, never let through unchecked.
    """

    def __init__(self, redis: SyncRedis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = DEFAULT_PREFIX) -> RedisReplayStore:
        """A store on a new ``redis.Redis`` client for ``url`` (``redis://host:port/db``)."""
        return cls(_redis_module().Redis.from_url(url), prefix=prefix)

    def close(self) -> None:
        """Close the client, when it has a ``close`` (those made by ``from_url`` do)."""
        close = getattr(self._redis, "close", None)
        if close is not None:
            close()

    def claim(self, key: str, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds; False when another request recorded it first."""
        return bool(self._redis.set(self._prefix + key, b"1", nx=True, px=_milliseconds(ttl)))


class AsyncRedisReplayStore:
    """``RedisReplayStore`` for ``redis.asyncio`` clients (the middleware awaits it)."""

    def __init__(self, redis: AsyncRedis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = DEFAULT_PREFIX) -> AsyncRedisReplayStore:
        """A store on a new ``redis.asyncio.Redis`` client for ``url``."""
        return cls(_redis_module().asyncio.Redis.from_url(url), prefix=prefix)

    async def aclose(self) -> None:
        """Close the client, when it has an ``aclose`` (those made by ``from_url`` do)."""
        aclose = getattr(self._redis, "aclose", None)
        if aclose is not None:
            await aclose()

    async def claim(self, key: str, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds; False when another request recorded it first."""
        return bool(await self._redis.set(self._prefix + key, b"1", nx=True, px=_milliseconds(ttl)))


def _milliseconds(ttl: float) -> int:
    if not ttl > 0:
        raise ValueError(f"a replay window must be positive, not {ttl!r} s")
    return max(1, math.ceil(ttl * 1000))


def _redis_module() -> Any:
    try:
        import redis  # noqa: PLC0415
        import redis.asyncio  # noqa: PLC0415
    except ImportError as error:
        raise ImportError(
            "the Redis replay store needs redis-py: pip install 'tca-gate[redis]'"
        ) from error
    return redis
