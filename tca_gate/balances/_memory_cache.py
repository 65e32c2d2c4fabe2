"""``CachedBalances``: a ``BalanceSource`` in front of another, with a TTL and single flight.

One upstream call per holder however many requests wait for it; failures are never
cached as balances; a stale answer is served only within ``stale_for`` seconds past
its TTL, and only when the upstream failed; unknown holders are remembered briefly.
An answer withdrawn while it was being fetched (``forget``, ``invalidate``) is neither
stored nor served: its waiters fetch again.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from cachetools import TTLCache

from tca_gate.errors import BalanceUnavailableError, InvalidArgumentError, UnknownHolderError

from ._cache_protocol import (
    FETCH_ATTEMPTS,
    MAX_STALE_FOR,
    BalanceReading,
    CacheStats,
    Done,
    check_seconds,
    default_negative_ttl,
    forget_targets,
    identity_names,
)
from ._changes import Change, ChangeFeed
from ._holder import BALANCE_SCOPES, Holder
from ._source import BalanceSource, read_only_balances

__all__ = ["MAX_STALE_FOR", "BalanceReading", "CacheStats", "CachedBalances"]

#: The index is pruned of forgotten holders when it grows past twice its size after the
#: last pruning, and never below this many entries.
_PRUNE_FLOOR = 1024


#: What the cache keys answers by: ``Holder.key``, a plain tuple (C-level hash and ==).
_Key = tuple[str, str | tuple[str, ...], str]


def _plain_get(entries: TTLCache[_Key, _Entry]) -> Callable[[_Key], _Entry | None]:
    """Item lookup in ``entries`` without ``TTLCache``'s expiry check and LRU bookkeeping,
    for ``peek``: it checks an answer's age itself (fresh within ``ttl``, well inside the
    cache's own expiry), so a hit on the gate's hot path costs one dict lookup in C.
    Eviction stays the cache's.

    That is the ``get`` of the dict ``cachetools.Cache`` keeps its items in, when a probe
    on a cache of the same class finds items set there and gone once deleted; else the
    cache's own ``get``.
    """
    store = getattr(entries, "_Cache__data", None)
    if isinstance(store, dict) and _store_holds_items(type(entries)):
        return store.get
    return entries.get


def _store_holds_items(kind: type[TTLCache[_Key, _Entry]]) -> bool:
    """Whether a ``kind`` cache keeps its items, as they are, in ``_Cache__data``."""
    probe: TTLCache[_Key, _Entry] = kind(1, 3600.0)
    store = getattr(probe, "_Cache__data", None)
    key: _Key = ("probe", "", "")
    answer = _Entry(0.0, None)
    probe[key] = answer
    kept = isinstance(store, dict) and store.get(key) is answer
    del probe[key]
    return kept and isinstance(store, dict) and key not in store


@dataclass(frozen=True, slots=True)
class _Entry:
    """An answer and when it was fetched; ``balances`` None: the holder is unknown.
    ``owner``: the fetching token holder's, the name it was indexed under (see ``serves``)."""

    fetched_at: float
    balances: Mapping[str, int] | None
    refusal: str = ""
    owner: str | None = None

    def serves(self, holder: Holder) -> bool:
        """Whether this answer may be served to ``holder``: a token holder with an owner
        only an answer indexed under that owner (else a ``forget`` of the owner would
        miss it), fetched again otherwise."""
        return holder.owner is None or holder.owner == self.owner


class CachedBalances:
    """A TTL cache of ``source``'s answers, keyed by holder and scope, touched only from
    the event loop; each holder's fetch is one task, awaited through ``asyncio.shield``.
    ``negative_ttl`` (how long an unknown holder is remembered) is at most ``ttl``; by
    default the lesser of 5 s and ``ttl``.

    An index by username and address finds the answers ``forget`` drops without a scan;
    it holds the holders fetched lately and is pruned of those the cache no longer
    has whenever it doubles, so it stays within a small multiple of the cache.

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
        negative_ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_seconds("ttl", ttl, low=0.0, high=math.inf, open_low=True)
        check_seconds("stale_for", stale_for, low=0.0, high=MAX_STALE_FOR)
        negative_ttl = default_negative_ttl(ttl, negative_ttl)
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise InvalidArgumentError(f"maxsize must be a positive int, not {maxsize!r}")
        self.source = source
        self.ttl = ttl
        self.stale_for = stale_for
        self.negative_ttl = negative_ttl
        self.stats = CacheStats()
        #: Told of every answer withdrawn or replaced by a different one (``Change``).
        self.changes = ChangeFeed()
        self._clock = clock
        self._entries: TTLCache[_Key, _Entry] = TTLCache(maxsize, ttl + stale_for, timer=clock)
        self._stored = _plain_get(self._entries)
        self._flights: dict[Holder, asyncio.Task[BalanceReading | None]] = {}
        self._by_user: dict[str, _Indexed] = {}
        self._by_address: dict[str, _Indexed] = {}
        self._indexed = 0
        self._prune_at = _PRUNE_FLOOR

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

    def peek(self, holder: Holder) -> Mapping[str, int] | None:
        """The holder's balances if the cache has a fresh answer, without waiting; else
        ``None`` (then ``read``). The gate's fast path: a hit costs one lookup."""
        entry = self._stored(holder.key)
        if entry is None or (holder.owner is not None and entry.owner != holder.owner):
            return None
        balances = entry.balances
        if balances is not None and self._clock() - entry.fetched_at < self.ttl:
            self.stats.hits += 1
            return balances
        return None

    async def read(self, holder: Holder) -> BalanceReading:
        """The holder's balances and whether they are stale; raises as the source does.

        A fetch whose answer was withdrawn meanwhile (``forget``, ``invalidate``) is not
        served: the read fetches again, and after ``FETCH_ATTEMPTS`` such fetches raises
        ``BalanceUnavailableError``."""
        try:
            cached = self._cached(holder)
        except UnknownHolderError:
            self.stats.hits += 1
            raise
        if cached is not None:
            self.stats.hits += 1
            return cached
        self.stats.misses += 1
        for _ in range(FETCH_ATTEMPTS):
            flight = self._flights.get(holder)
            if flight is None:
                flight = asyncio.create_task(self._fetch(holder), name=f"balances of {holder!r}")
                flight.add_done_callback(lambda done: self._land(holder, done))
                self._flights[holder] = flight
                self._index(holder)
                self.stats.upstream_calls += 1
            reading = await asyncio.shield(flight)
            if reading is None:  # withdrawn: another flight's answer, or a new fetch
                reading = self._cached(holder)
            if reading is not None:
                if reading.stale:
                    self.stats.stale_served += 1
                return reading
        raise BalanceUnavailableError(
            f"the balances of {holder!r} changed {FETCH_ATTEMPTS} times while being fetched"
        )

    def _cached(self, holder: Holder) -> BalanceReading | None:
        """The cached answer if fresh (an unknown holder within ``negative_ttl`` raises
        ``UnknownHolderError``), else ``None``."""
        try:
            entry = self._entries[holder.key]
        except KeyError:
            return None
        if not entry.serves(holder):
            return None
        age = self._clock() - entry.fetched_at
        if entry.balances is None and age < self.negative_ttl:
            raise UnknownHolderError(entry.refusal)
        if entry.balances is not None and age < self.ttl:
            return BalanceReading(entry.balances, stale=False, age=age)
        return None

    def invalidate(self, holder: Holder) -> Done[int]:
        """Forget the holder's answers in every scope; fetches under way no longer fill it.

        Done at once; the answer (how many answers were dropped) may be awaited, as
        with every ``BalanceCache``.
        """
        dropped = self._drop(holder.in_scope(scope) for scope in BALANCE_SCOPES)
        self.changes.publish(Change.of(holders=[holder]))
        return Done(dropped)

    async def forget(self, *, usernames: Iterable[str] = (), addresses: Iterable[str] = ()) -> int:
        """Forget, in every scope, the answers for these users (username holders, and token
        holders whose ``owner`` is one of them; names in any case) and for every address
        list holding one of these addresses; fetches under way no longer fill them.

        How many cached answers were dropped. Done at once, without awaiting anything.
        """
        names, wanted = forget_targets(usernames, addresses)
        found: set[Holder] = set()
        for index, keys in ((self._by_user, names), (self._by_address, wanted)):
            for key in keys:
                holders = _members(index.pop(key, None))
                self._indexed -= len(holders)
                found.update(holders)
        dropped = self._drop(found)
        self.changes.publish(Change.of(usernames=names, addresses=wanted))
        return dropped

    def clear(self) -> None:
        """Forget every answer."""
        self._entries.clear()
        self._flights.clear()
        self._by_user.clear()
        self._by_address.clear()
        self._indexed = 0
        self._prune_at = _PRUNE_FLOOR
        self.changes.publish(Change.EVERYTHING)

    def _drop(self, holders: Iterable[Holder]) -> int:
        """Drop these holders' answers and flights; how many answers there were."""
        dropped = 0
        for holder in holders:
            if self._entries.pop(holder.key, None) is not None:
                dropped += 1
            self._flights.pop(holder, None)
        return dropped

    def _index(self, holder: Holder) -> None:
        """Record ``holder`` under its usernames and addresses, for ``forget``."""
        names, addresses = identity_names(holder)
        for index, keys in ((self._by_user, names), (self._by_address, addresses)):
            for key in keys:
                found = index.get(key)
                if found is None:
                    index[key] = holder
                elif isinstance(found, set):
                    if holder in found:
                        continue
                    found.add(holder)
                elif found == holder:
                    continue
                else:
                    index[key] = {found, holder}
                self._indexed += 1
        if self._indexed > self._prune_at:
            self._prune()

    def _prune(self) -> None:
        """Drop from the index the holders that have neither an answer nor a flight."""
        entries, flights = self._entries, self._flights
        self._indexed = 0
        for index in (self._by_user, self._by_address):
            for key, found in list(index.items()):
                kept = [
                    holder
                    for holder in _members(found)
                    if holder.key in entries or holder in flights
                ]
                if not kept:
                    del index[key]
                    continue
                index[key] = kept[0] if len(kept) == 1 else set(kept)
                self._indexed += len(kept)
        self._prune_at = max(_PRUNE_FLOOR, 2 * self._indexed)

    async def _fetch(self, holder: Holder) -> BalanceReading | None:
        """The source's answer, stored; ``None`` when it was withdrawn while fetched."""
        try:
            balances = read_only_balances(await self.source.balances(holder), repr(self.source))
        except BaseException as error:
            self.stats.upstream_errors += 1
            if isinstance(error, UnknownHolderError):
                unknown = _Entry(self._clock(), None, str(error), holder.owner)
                self._keep(holder, unknown if self.negative_ttl > 0 else None)
            stale = self._stale(holder) if isinstance(error, BalanceUnavailableError) else None
            if stale is None:
                raise
            return stale
        before = self._entries.get(holder.key)
        if not self._keep(holder, _Entry(self._clock(), balances, owner=holder.owner)):
            return None
        if before is not None and before.balances != balances:
            self.changes.publish(Change.of(holders=[holder]))
        return BalanceReading(balances, stale=False, age=0.0)

    def _stale(self, holder: Holder) -> BalanceReading | None:
        entry = self._entries.get(holder.key)
        if entry is None or entry.balances is None or not entry.serves(holder):
            return None
        age = self._clock() - entry.fetched_at
        if age >= self.ttl + self.stale_for:
            return None
        return BalanceReading(entry.balances, stale=True, age=age)

    def _keep(self, holder: Holder, entry: _Entry | None) -> bool:
        """Store an answer (None: drop the old one) unless the holder was forgotten or
        invalidated meanwhile (its flight dropped); whether it was stored."""
        if self._flights.get(holder) is not asyncio.current_task():
            return False
        if entry is None:
            self._entries.pop(holder.key, None)
        else:
            self._entries[holder.key] = entry
        return True

    def _land(self, holder: Holder, flight: asyncio.Task[BalanceReading | None]) -> None:
        """Forget a finished flight; its exception is marked seen, as its waiters got it."""
        if self._flights.get(holder) is flight:
            del self._flights[holder]
        if not flight.cancelled():
            flight.exception()


#: An index entry: the one holder found by a name, or the set of them (mostly there is one).
_Indexed = Holder | set[Holder]


def _members(found: _Indexed | None) -> Collection[Holder]:
    """The holders of an index entry."""
    if found is None:
        return ()
    return found if isinstance(found, set) else (found,)
