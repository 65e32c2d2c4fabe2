"""Replay stores: a signed request is accepted once, then refused as a replay.

``claim`` is the one way a verifier asks a store (``claim_now`` for a verifier that
cannot await): sync or async, any failure of the store becomes
``ReplayStoreUnavailableError`` (the request is refused with a 503, never let through
unchecked). ``release`` gives a claim back when the work it allowed failed, so the
sender can retry the same signed request. ``MemoryReplayStore`` serves one process; the
Redis stores, one atomic ``SET NX PX GET`` per request, serve every worker. A claim sets
a random value of its own and reads back any value already there, so a claim the client
sends again after a lost reply (redis-py retries once) finds its own value and is still
the first, not a replay (Redis 7.0 or later, Valkey 7.2 or later). Every command
they send names one key, so a Redis Cluster client (``redis.RedisCluster``,
``redis.asyncio.RedisCluster``) serves as well as a ``Redis`` one.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import secrets
import threading
from collections.abc import Awaitable, Iterator
from typing import Any, Protocol

from cachetools import TLRUCache

from tca_gate.errors import ReplayStoreUnavailableError

#: How long ``MemoryReplayStore`` keeps a claim by default, in seconds (twice the usual window).
DEFAULT_TTL = 600.0

#: The prefix of every key the stores write, so they are easy to find and never collide.
DEFAULT_PREFIX = "tca-gate:replay:"

_log = logging.getLogger(__name__)


class ReplayStore(Protocol):
    """Remembers signed requests for a while, so the same one is accepted only once."""

    def claim(self, key: str, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds; False when it is already recorded."""
        ...


class AsyncReplayStore(Protocol):
    """A ``ReplayStore`` whose claims are awaited (Redis through ``redis.asyncio``, say)."""

    async def claim(self, key: str, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds; False when it is already recorded."""
        ...


async def claim(store: ReplayStore | AsyncReplayStore, key: str, ttl: float) -> bool:
    """Claim ``key`` in ``store`` (sync or async): True the first time, False for a replay.

    Any failure of the store raises ``ReplayStoreUnavailableError``, so a caller refuses
    the request rather than accept one whose freshness cannot be known.
    """
    with _unavailable():
        fresh = store.claim(key, ttl)
        if inspect.isawaitable(fresh):
            fresh = await fresh
        return bool(fresh)


def claim_now(store: ReplayStore, key: str, ttl: float) -> bool:
    """``claim`` for a sync store, from a verifier that cannot await (the same errors)."""
    with _unavailable():
        return bool(store.claim(key, ttl))


async def release(store: ReplayStore | AsyncReplayStore, key: str) -> None:
    """Give back the claim on ``key`` (sync or async store), so the same signed request can
    be retried within its window after the work it allowed failed.

    A store without ``release`` is left alone. A store that fails is logged at WARNING
    (its kind only: the key holds a signature) and not raised, since the caller is
    already answering a failure.
    """
    give_back = getattr(store, "release", None)
    if give_back is None:
        return
    try:
        released = give_back(key)
        if inspect.isawaitable(released):
            await released
    except Exception as error:
        _log.warning("the replay store could not release a claim (%s)", type(error).__name__)


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """Any failure of the store, as ``ReplayStoreUnavailableError``."""
    try:
        yield
    except Exception as error:
        raise ReplayStoreUnavailableError("the replay store cannot be reached") from error


class MemoryReplayStore:
    """A ``ReplayStore`` in this process's memory (one worker; use Redis for several).

    Each claim is kept for the ``ttl`` it asks for, and at least the store's ``ttl``.
    Bounded: past ``maxsize`` live entries the oldest are forgotten early, so keep
    ``maxsize`` above the requests a window can bring.
    """

    def __init__(self, maxsize: int = 100_000, ttl: float = DEFAULT_TTL) -> None:
        self._least = ttl
        self._seen: TLRUCache[str, float] = TLRUCache(maxsize=maxsize, ttu=_expiry)
        self._lock = threading.Lock()

    def claim(self, key: str, ttl: float) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = max(ttl, self._least)
            return True

    def release(self, key: str) -> None:
        """Forget the claim on ``key`` (nothing when there is none)."""
        with self._lock:
            self._seen.pop(key, None)


def _expiry(_key: str, kept_for: float, now: float) -> float:
    """When a claim kept for ``kept_for`` seconds from ``now`` is forgotten."""
    return now + kept_for


class SyncRedis(Protocol):
    """The calls of ``redis.Redis`` (or ``redis.RedisCluster``) the store makes."""

    def set(self, name: str, value: str, *, nx: bool, px: int, get: bool) -> Any:
        """Set ``name`` only if absent, expiring after ``px`` milliseconds; the value
        already there, or None."""
        ...

    def delete(self, *names: str) -> Any:
        """Delete ``names``."""
        ...


class AsyncRedis(Protocol):
    """The calls of ``redis.asyncio.Redis`` (or its ``RedisCluster``) the store makes."""

    def set(self, name: str, value: str, *, nx: bool, px: int, get: bool) -> Awaitable[Any]:
        """Set ``name`` only if absent, expiring after ``px`` milliseconds; the value
        already there, or None."""
        ...

    def delete(self, *names: str) -> Awaitable[Any]:
        """Delete ``names``."""
        ...


class RedisReplayStore:
    """A ``ReplayStore`` in Redis for apps on several workers or machines.

    Each claim is one atomic set-if-absent with an expiry, so two workers that see
    the same signed request at once cannot both accept it. A Redis error propagates:
    the request is refused, never let through unchecked. ``redis`` is a ``redis.Redis``
    or a ``redis.RedisCluster``.
    """

    def __init__(self, redis: SyncRedis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = DEFAULT_PREFIX, cluster: bool = False
    ) -> RedisReplayStore:
        """A store on a new ``redis.Redis`` client for ``url`` (``redis://host:port/db``),
        or with ``cluster=True`` a ``redis.RedisCluster`` one (``url`` naming any node).
        The client gives up on an unreachable Redis within a second or two."""
        module = _redis_module()
        kind = module.RedisCluster if cluster else module.Redis
        return cls(kind.from_url(url, **_quick(module.retry.Retry)), prefix=prefix)

    def close(self) -> None:
        """Close the client, when it has a ``close`` (those made by ``from_url`` do)."""
        close = getattr(self._redis, "close", None)
        if close is not None:
            close()

    def claim(self, key: str, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds; False when another request recorded it first."""
        mine = secrets.token_hex(16)
        return _claimed(
            self._redis.set(self._prefix + key, mine, nx=True, px=_milliseconds(ttl), get=True),
            mine,
        )

    def release(self, key: str) -> None:
        """Forget the claim on ``key``, so the same request can be accepted again."""
        self._redis.delete(self._prefix + key)


class AsyncRedisReplayStore:
    """``RedisReplayStore`` for ``redis.asyncio`` clients, ``Redis`` or ``RedisCluster``
    (the middleware awaits it)."""

    def __init__(self, redis: AsyncRedis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = redis
        self._prefix = prefix

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = DEFAULT_PREFIX, cluster: bool = False
    ) -> AsyncRedisReplayStore:
        """A store on a new ``redis.asyncio.Redis`` client for ``url``, or with
        ``cluster=True`` a ``redis.asyncio.RedisCluster`` one (``url`` naming any node)."""
        module = _redis_module().asyncio
        kind = module.RedisCluster if cluster else module.Redis
        return cls(kind.from_url(url, **_quick(module.retry.Retry)), prefix=prefix)

    async def aclose(self) -> None:
        """Close the client, when it has an ``aclose`` (those made by ``from_url`` do)."""
        aclose = getattr(self._redis, "aclose", None)
        if aclose is not None:
            await aclose()

    async def claim(self, key: str, ttl: float) -> bool:
        """Record ``key`` for ``ttl`` seconds; False when another request recorded it first."""
        mine = secrets.token_hex(16)
        found = await self._redis.set(
            self._prefix + key, mine, nx=True, px=_milliseconds(ttl), get=True
        )
        return _claimed(found, mine)

    async def release(self, key: str) -> None:
        """Forget the claim on ``key``, so the same request can be accepted again."""
        await self._redis.delete(self._prefix + key)


def _claimed(found: object, mine: str) -> bool:
    """Whether ``SET NX GET`` claimed the key: nothing was there, or this claim's own value
    (its first attempt ran, and the reply was lost)."""
    return found is None or found in (mine, mine.encode())


def _milliseconds(ttl: float) -> int:
    if not ttl > 0:
        raise ValueError(f"a replay window must be positive, not {ttl!r} s")
    return max(1, math.ceil(ttl * 1000))


def _quick(retry: Any) -> dict[str, Any]:
    """Client options that give up on an unreachable Redis within a second or two (connect
    and read timeouts, one quick retry), so a request waits a little, then gets its 503."""
    backoff = _redis_module().backoff.ExponentialBackoff(cap=0.1, base=0.01)
    return {"socket_connect_timeout": 1.0, "socket_timeout": 2.0, "retry": retry(backoff, 1)}


def _redis_module() -> Any:
    try:
        import redis  # noqa: PLC0415
        import redis.asyncio  # noqa: PLC0415
        import redis.asyncio.retry  # noqa: PLC0415
        import redis.backoff  # noqa: PLC0415
        import redis.retry  # noqa: PLC0415
    except ImportError as error:
        raise ImportError(
            "the Redis replay store needs redis-py: pip install 'tca-gate[redis]'"
        ) from error
    return redis
