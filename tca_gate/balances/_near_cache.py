"""``NearCache``: a worker's own copy of recent answers of the Redis cache.

A hit costs one dict lookup, as in ``CachedBalances``; a miss goes to Redis, which stays
the place of shared answers and of single flight across workers. What keeps it honest:

- an answer is kept only while the change feed is ``live``, and only if no change was
  heard while it was looked up;
- every change the feed hears drops the holders it concerns (``Change.EVERYTHING``, said
  when the feed stops hearing, drops them all);
- an answer is kept at most ``ttl`` seconds from when its look-up started (before Redis
  gave it), and never past its own freshness in Redis;
- an answer kept for a token holder without an owner is not served to one with an owner
  (it carries no mark of the owner, so a ``forget`` of the owner would not drop it).

So an answer withdrawn by ``forget`` or ``invalidate`` in any worker is served here at
most until the feed delivers the change, and never more than ``ttl`` seconds after the
withdrawal, whatever happens to the channel.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._cache_protocol import BalanceReading, CacheStats
from ._changes import Change, Mark, holder_marks
from ._holder import Holder
from ._redis_feed import RedisChangeFeed

#: What answers are kept by: ``Holder.key``, a plain tuple (C-level hash and ==).
_Key = tuple[str, str | tuple[str, ...], str]


@dataclass(frozen=True, slots=True)
class _Near:
    """A kept answer: served until ``expires``; ``fetched`` dates it (the clock's time);
    ``owner`` is the keeping holder's (its ``marks`` hold that owner's)."""

    expires: float
    balances: Mapping[str, int]
    fetched: float
    marks: tuple[Mark, ...]
    owner: str | None


class NearCache:
    """Up to ``maxsize`` recent answers, each kept at most ``ttl`` seconds, dropped as the
    ``feed`` says; ``answer_ttl`` is how long an answer is fresh in Redis. Hits count in
    ``stats``. Touched only from the event loop."""

    def __init__(
        self,
        feed: RedisChangeFeed,
        stats: CacheStats,
        *,
        ttl: float,
        maxsize: int,
        answer_ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._answer_ttl = answer_ttl
        self._feed = feed
        self._stats = stats
        self._clock = clock
        self._entries: dict[_Key, _Near] = {}
        self._by_mark: dict[Mark, set[_Key]] = {}
        self._heard = 0  # changes heard so far: a look-up that spans one keeps nothing
        feed.subscribe(self._withdraw)

    def __len__(self) -> int:
        """How many answers are kept (some maybe expired, until replaced or evicted)."""
        return len(self._entries)

    def __repr__(self) -> str:
        return f"NearCache(ttl={self.ttl}, maxsize={self.maxsize}, entries={len(self)})"

    def peek(self, holder: Holder) -> Mapping[str, int] | None:
        """The holder's balances if a fresh answer is kept, else ``None``: one lookup."""
        entry = self._entries.get(holder.key)
        if entry is None or (holder.owner is not None and entry.owner != holder.owner):
            return None
        if self._clock() < entry.expires:
            self._stats.hits += 1
            return entry.balances
        return None

    def read(self, holder: Holder) -> BalanceReading | None:
        """The kept answer as a reading, if fresh (not counted: the caller counts it)."""
        entry = self._entries.get(holder.key)
        now = self._clock()
        if entry is None or now >= entry.expires:
            return None
        if holder.owner is not None and entry.owner != holder.owner:
            return None
        return BalanceReading(entry.balances, stale=False, age=now - entry.fetched)

    def keeper(self, holder: Holder) -> Callable[[asyncio.Future[Any]], None]:
        """For a look-up of ``holder`` in Redis starting now: the done-callback of its task
        that keeps the answer it found (the task's result has a ``reading``), if it may."""
        self._feed.start_soon()
        started, heard = self._clock(), self._heard

        def keep(flight: asyncio.Future[Any]) -> None:
            if flight.cancelled() or flight.exception() is not None:
                return
            reading: BalanceReading | None = flight.result().reading
            if reading is None or reading.stale or heard != self._heard or not self._feed.live:
                return
            expires = started + min(self.ttl, self._answer_ttl - reading.age)
            if expires > self._clock():
                self._keep(holder, expires, reading.balances, started - reading.age)

        return keep

    def _keep(
        self, holder: Holder, expires: float, balances: Mapping[str, int], fetched: float
    ) -> None:
        """Keep an answer until ``expires``, making room (the oldest kept goes) if full."""
        key = holder.key
        if key in self._entries:
            self._drop(key)
        elif len(self._entries) >= self.maxsize:
            self._drop(next(iter(self._entries)))  # the oldest kept
        marks = holder_marks(holder)
        self._entries[key] = _Near(expires, balances, fetched, marks, holder.owner)
        for mark in marks:
            self._by_mark.setdefault(mark, set()).add(key)

    def _withdraw(self, change: Change) -> None:
        """The feed's listener: drop every answer ``change`` concerns."""
        self._heard += 1
        if change.everything:
            self._entries.clear()
            self._by_mark.clear()
            return
        for mark in change.marks():
            for key in self._by_mark.pop(mark, ()):
                self._drop(key)

    def _drop(self, key: _Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for mark in entry.marks:
            keys = self._by_mark.get(mark)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_mark[mark]
