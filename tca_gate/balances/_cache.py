"""``CachedBalances``: a ``BalanceSource`` in front of another, with a TTL and single flight.

One upstream call per holder however many requests wait for it; failures are never
cached as balances; a stale answer is served only within ``stale_for`` seconds past
its TTL, and only when the upstream failed; unknown holders are remembered briefly.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cachetools import TTLCache

from tca_gate._errors import InvalidArgumentError

from ._errors import BalanceUnavailableError, UnknownHolderError
from ._holder import SCOPES, Holder
from ._source import BalanceSource, read_only_balances

#: The longest ``stale_for`` accepted: past this, stale balances are a wrong answer.
MAX_STALE_FOR = 300.0


@dataclass(frozen=True, slots=True)
class BalanceReading:
    """Balances as the cache gave them; ``stale`` when the upstream failed and an older
    answer was served, ``age`` the seconds since that answer was fetched."""

    balances: Mapping[str, int]
    stale: bool
    age: float


@dataclass(slots=True)
class CacheStats:
    """Counters of a ``CachedBalances``: requests answered from the cache (``hits``) or not
    (``misses``), calls made to the source and how many failed, stale answers served."""

    hits: int = 0
    misses: int = 0
    upstream_calls: int = 0
    upstream_errors: int = 0
    stale_served: int = 0


@dataclass(frozen=True, slots=True)
class _Entry:
    """An answer and when it was fetched; ``balances`` None: the holder is unknown."""

    fetched_at: float
    balances: Mapping[str, int] | None
    refusal: str = ""


class CachedBalances:
    """A TTL cache of ``source``'s answers, keyed by holder and scope, touched only from
    the event loop; each holder's fetch is one task, awaited through ``asyncio.shield``.

    >>> import asyncio
    >>> from tca_gate.balances import StaticBalances
    >>> cache = CachedBalances(StaticBalances({"users": {"bob": {"public": {"LTBCOIN": 5}}}}))
    >>> dict(asyncio.run(cache.balances(Holder.user("bob"))))
    {'LTBCOIN': 5}
    >>> cache.stats.upstream_calls
    1
    """

    def __init__(
        self,
        source: BalanceSource,
        *,
        ttl: float = 30.0,
        maxsize: int = 100_000,
        stale_for: float = 0.0,
        negative_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _seconds("ttl", ttl, low=0.0, high=math.inf, open_low=True)
        _seconds("stale_for", stale_for, low=0.0, high=MAX_STALE_FOR)
        _seconds("negative_ttl", negative_ttl, low=0.0, high=ttl)
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise InvalidArgumentError(f"maxsize must be a positive int, not {maxsize!r}")
        self.source = source
        self.ttl = ttl
        self.stale_for = stale_for
        self.negative_ttl = negative_ttl
        self.stats = CacheStats()
        self._clock = clock
        self._entries: TTLCache[Holder, _Entry] = TTLCache(maxsize, ttl + stale_for, timer=clock)
        self._flights: dict[Holder, asyncio.Task[BalanceReading]] = {}

    def __repr__(self) -> str:
        return (
            f"CachedBalances({self.source!r}, ttl={self.ttl}, stale_for={self.stale_for}, "
            f"entries={len(self._entries)})"
        )

    def __len__(self) -> int:
        """How many answers (balances or unknown holders) are held, at most ``maxsize``."""
        return len(self._entries)

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        """The holder's balances, from the cache when fresh (or stale within the window)."""
        return (await self.read(holder)).balances

    async def read(self, holder: Holder) -> BalanceReading:
        """The holder's balances and whether they are stale; raises as the source does."""
        entry = self._entries.get(holder)
        if entry is not None:
            age = self._clock() - entry.fetched_at
            if entry.balances is None and age < self.negative_ttl:
                self.stats.hits += 1
                raise UnknownHolderError(entry.refusal)
            if entry.balances is not None and age < self.ttl:
                self.stats.hits += 1
                return BalanceReading(entry.balances, stale=False, age=age)
        self.stats.misses += 1
        flight = self._flights.get(holder)
        if flight is None:
            flight = asyncio.create_task(self._fetch(holder), name=f"balances of {holder!r}")
            flight.add_done_callback(lambda done: self._land(holder, done))
            self._flights[holder] = flight
            self.stats.upstream_calls += 1
        reading = await asyncio.shield(flight)
        if reading.stale:
            self.stats.stale_served += 1
        return reading

    def invalidate(self, holder: Holder) -> None:
        """Forget the holder's answers in every scope; fetches under way no longer fill it."""
        for scope in SCOPES:
            key = holder.in_scope(scope)
            self._entries.pop(key, None)
            self._flights.pop(key, None)

    def clear(self) -> None:
        """Forget every answer."""
        self._entries.clear()
        self._flights.clear()

    async def _fetch(self, holder: Holder) -> BalanceReading:
        try:
            balances = read_only_balances(await self.source.balances(holder), repr(self.source))
        except BaseException as error:
            self.stats.upstream_errors += 1
            if isinstance(error, UnknownHolderError):
                unknown = _Entry(self._clock(), None, str(error))
                self._keep(holder, unknown if self.negative_ttl > 0 else None)
            stale = self._stale(holder) if isinstance(error, BalanceUnavailableError) else None
            if stale is None:
                raise
            return stale
        self._keep(holder, _Entry(self._clock(), balances))
        return BalanceReading(balances, stale=False, age=0.0)

    def _stale(self, holder: Holder) -> BalanceReading | None:
        entry = self._entries.get(holder)
        if entry is None or entry.balances is None:
            return None
        age = self._clock() - entry.fetched_at
        if age >= self.ttl + self.stale_for:
            return None
        return BalanceReading(entry.balances, stale=True, age=age)

    def _keep(self, holder: Holder, entry: _Entry | None) -> None:
        """Store an answer (None: drop the old one) unless the holder was invalidated meanwhile."""
        if self._flights.get(holder) is not asyncio.current_task():
            return
        if entry is None:
            self._entries.pop(holder, None)
        else:
            self._entries[holder] = entry

    def _land(self, holder: Holder, flight: asyncio.Task[BalanceReading]) -> None:
        """Forget a finished flight; its exception is marked seen, as its waiters got it."""
        if self._flights.get(holder) is flight:
            del self._flights[holder]
        if not flight.cancelled():
            flight.exception()


def _seconds(name: str, value: float, *, low: float, high: float, open_low: bool = False) -> None:
    """Refuse a duration that is not a number in ``[low, high]`` (``(low, high]`` if open)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    inside = number and (low < value if open_low else low <= value) and value <= high
    if not inside:
        bound = "(" if open_low else "["
        raise InvalidArgumentError(
            f"{name} must be seconds in {bound}{low:g}, {high:g}], not {value!r}"
        )
