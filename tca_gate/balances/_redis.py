"""``RedisCachedBalances``: the balance cache and its single flight shared through Redis.

For apps on several workers or machines. Each holder's answer is one Redis key; a
worker that misses it takes the holder's lock (one atomic ``SET NX PX``) and fetches,
the others poll for the answer with a short backoff, so N workers missing the same
holder make one upstream call. Within one worker, concurrent readers of a holder share
one task (a flight), until a change concerning it is made in this worker or heard from
another (the cache is the first listener of its own feed, which it starts with its first
flight): begun before the change, the flight may have read the answer withdrawn, so
readers after the change, the listeners that read again on hearing it among them, start
a new one (those that joined before this worker heard it get its answer: the pub/sub
delivery window, as for the near cache). Any Redis failure is a
``BalanceUnavailableError``: never a guess.

A fetch's lock token is its generation: ``forget`` and ``invalidate`` delete the lock, so
the fetch under way (in any worker) can no longer store its answer (``SETTLE`` checks the
token atomically), and an answer not stored is not served either: the worker looks
again, and after ``FETCH_ATTEMPTS`` withdrawn fetches gives up (a 503, never the old one).

The client may be a ``redis.asyncio.Redis`` or a ``redis.asyncio.RedisCluster``: a
holder's keys carry its digest as a hash tag (``<prefix>balances:{<digest>}``), so its
answer, lock and failure share one slot, and every script names all its keys in KEYS
(``_redis_scripts``). The index sets ``forget`` finds holders by live in slots of their
own, each with its taking hash (``<prefix>user:{<sha256>}`` and ``...:taking``, one slot
by the same hash tag), so no step spans two slots, and the orderings below keep every
guarantee.

A fetch: (1) ``LOCK`` the holder; (2) ``INDEX``: add its digest to its index sets; (3)
ask the source; (4) ``SETTLE``: store the answer only if the lock is still the fetch's.
A forget (with a random id of its own): (a) ``TAKE`` each index set: move its digests
into the taking hash, mark every digest the hash holds with the forget's id, and read
them all (atomic, one slot); (b) ``DROP`` each digest taken: delete its lock and its
answer at once, so a fetch's (4) comes before or after, never between; (c) PUBLISH the
change; (d) ``UNTAKE``: remove, of the digests taken, those still marked with its id. A
digest leaves an index set only for the taking hash, in (a), and leaves the taking hash
only in (d) of the last forget whose (a) took it, after that forget's (b) and (c)
succeeded: a forget that fails or times out anywhere (a reply lost, a node down), or
whose (a) the client sends twice after a lost reply (the same id), leaves the digests in
the taking hash, and its retry (the webhook's, with a new id, or the client's) takes
them again. Two forgets may overlap: an earlier forget's (d) leaves a digest a later
one's (a) took (it is marked with the later id), so the later forget's retry still finds
it, though the earlier forget's (b) came before the answer it must drop was stored. So
when a forget's (a) misses a digest that a fetch's (2) indexed before it, the forget
whose (d) removed the digest had taken it after that (2), and had done its (b) before.
If (a) comes after (2), it (or that forget) finds the digest and (b), after (1), deletes
the lock: the fetch cannot store (or, had it stored, (b) deletes the answer). If (a)
comes before (2), the source is asked in (3) after the forget began, so the answer is
the new one, and (2) keeps it indexed for the next forget (a (d) of the same digest
meanwhile leaves the index set alone). Indexing before taking the lock would not do: a
forget's (a) and (b) could both fall between the two, and the answer of a lock taken
afterwards would be stored with no index entry, out of reach of the next forget. A (1)
or (4) the client sends again after a lost reply knows its own first run (the lock
holding its token; the answer or failure it stored still there); a (1) resent after a
forget's (b) deleted the lock its first run took takes it anew: a (1) after that (b), as
above.

The hash tags renamed the keys (``balances:<digest>`` is now ``balances:{<digest>}``,
``user:<sha256>`` is now ``user:{<sha256>}``): answers under the old names are never
read again and expire within ``ttl + stale_for``; it is a cache, nothing needs
migrating, but workers of both versions must not share a ``prefix`` (a forget in one
would miss the other's index sets; and the taking key, once a set, is now a hash, so a
forget meeting an old one fails, a 503, until it expires): roll out with a new
``prefix``, or stop all workers of the old version first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from tca_gate.balances import _redis_scripts as scripts
from tca_gate.errors import (
    BalanceUnavailableError,
    InvalidArgumentError,
    UnknownHolderError,
    shorten,
)

from ._cache_protocol import (
    FETCH_ATTEMPTS,
    MAX_STALE_FOR,
    BalanceReading,
    CacheStats,
    check_seconds,
    default_negative_ttl,
    forget_targets,
    identity_names,
)
from ._changes import Change
from ._holder import BALANCE_SCOPES, Holder
from ._near_cache import NearCache
from ._redis_feed import RedisChangeFeed
from ._source import BalanceSource, read_only_balances

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis
    from redis.asyncio import RedisCluster as AsyncRedisCluster

T = TypeVar("T")

#: The longest ``lock_timeout`` accepted, in seconds.
MAX_LOCK_TIMEOUT = 300.0
#: The longest ``near_ttl`` accepted, in seconds: it bounds how stale a near answer can be.
MAX_NEAR_TTL = 60.0
#: How long a waiting worker first sleeps between looks at the answer, and at most.
_FIRST_POLL, _LAST_POLL = 0.002, 0.025
#: How many index sets one operation reads or writes at once (of the client's connections).
_AT_ONCE = 16


@dataclass(frozen=True, slots=True)
class _Keys:
    """The Redis keys of one holder (by its digest)."""

    digest: str
    answer: str
    lock: str
    failed: str
    index: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Stored:
    """An answer read back from Redis; ``balances`` None: the holder is unknown."""

    fetched_at: float
    balances: Mapping[str, int] | None
    refusal: str = ""


@dataclass(frozen=True, slots=True)
class _Flight:
    """One look-up under way in this worker, that its readers share."""

    holder: Holder
    task: asyncio.Task[_Answer]


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one flight found: a reading (None: the holder is unknown) and whether it was
    already in the cache when the flight looked."""

    reading: BalanceReading | None
    refusal: str
    cached: bool


class RedisCachedBalances:
    """A ``BalanceCache`` in Redis shared by every worker using the same ``prefix``.

    The same readings as ``CachedBalances``: fresh within ``ttl``; stale (within
    ``stale_for`` past it) only when the source fails; unknown holders remembered for
    ``negative_ttl``; errors never stored as balances. ``lock_timeout`` bounds a fetch:
    past it the lock expires and a waiting worker fetches instead, so keep it above the
    source's worst case (the Tokenpass client's deadline). ``clock`` gives the unix time
    answers are dated with: the workers' clocks should agree.

    ``redis`` is a ``redis.asyncio.Redis`` or ``redis.asyncio.RedisCluster`` (or use
    ``from_url``); a client passed in stays the caller's to close. Each Redis operation
    gets ``redis_timeout`` seconds, whatever the client's own socket timeouts, so a Redis
    that hangs is a 503, not a hang.

    Make one per process, at start-up, and ``aclose`` it at shut-down (a lifespan): from
    its first read each keeps a pub/sub connection listening for other workers' changes.

    ``changes`` (a ``RedisChangeFeed``) tells listeners in every worker what ``forget``
    and ``invalidate`` withdrew, through Redis pub/sub: when the change cannot be sent
    to the other workers, they raise ``BalanceUnavailableError`` (the webhook's 503, so
    it is sent again), as when Redis fails. The cache hears it too, from its first read
    in a running loop on (one pub/sub connection a worker): a read after a change heard
    shares no look-up begun before it.

    ``near_ttl`` (seconds, off by default) keeps up to ``near_maxsize`` recent answers in
    each worker too, in front of Redis: a hit then costs what ``CachedBalances``' does.
    Near answers are kept only while ``changes`` is live (all dropped when it stops
    hearing), dropped on every change it hears, and kept at most ``near_ttl`` seconds
    from their look-up, so a withdrawn answer is served at most until the change reaches
    the worker (pub/sub delivery: a few milliseconds) and never ``near_ttl`` seconds
    after the ``forget`` returned. A near miss asks Redis, as without a near cache.
    """

    def __init__(
        self,
        source: BalanceSource,
        redis: AsyncRedis | AsyncRedisCluster,
        *,
        ttl: float = 30.0,
        stale_for: float = 0.0,
        negative_ttl: float | None = None,
        lock_timeout: float = 10.0,
        prefix: str = "tca-gate:",
        clock: Callable[[], float] = time.time,
        redis_timeout: float = 2.0,
        near_ttl: float | None = None,
        near_maxsize: int = 10_000,
    ) -> None:
        check_seconds("ttl", ttl, low=0.0, high=math.inf, open_low=True)
        check_seconds("redis_timeout", redis_timeout, low=0.0, high=math.inf, open_low=True)
        check_seconds("stale_for", stale_for, low=0.0, high=MAX_STALE_FOR)
        negative_ttl = default_negative_ttl(ttl, negative_ttl)
        check_seconds("lock_timeout", lock_timeout, low=0.0, high=MAX_LOCK_TIMEOUT, open_low=True)
        if not isinstance(prefix, str) or not prefix:
            raise InvalidArgumentError(f"prefix must be a non-empty string, not {prefix!r}")
        if "{" in prefix or "}" in prefix:
            raise InvalidArgumentError(
                f"prefix must not hold braces, not {prefix!r}: the cache puts them around "
                "each holder's digest to keep its keys in one Redis Cluster hash slot"
            )
        if near_ttl is not None:
            check_seconds("near_ttl", near_ttl, low=0.0, high=min(ttl, MAX_NEAR_TTL), open_low=True)
        if isinstance(near_maxsize, bool) or not isinstance(near_maxsize, int) or near_maxsize < 1:
            raise InvalidArgumentError(f"near_maxsize must be a positive int, not {near_maxsize!r}")
        self.source = source
        self.ttl = ttl
        self.stale_for = stale_for
        self.negative_ttl = negative_ttl
        self.lock_timeout = lock_timeout
        self.prefix = prefix
        self.redis_timeout = redis_timeout
        self.stats = CacheStats()
        #: Told of every answer withdrawn or replaced by a different one (``Change``), in
        #: every worker: the cache sends its changes to the others on ``{prefix}changes``.
        self.changes = RedisChangeFeed(redis, f"{prefix}changes", redis_timeout=redis_timeout)
        # heard first, before any other listener: one that reads again joins no old flight
        self.changes.subscribe(self._heard)
        self._flights: dict[str, _Flight] = {}
        self._near = None
        if near_ttl is not None:
            self._near = NearCache(
                self.changes, self.stats, ttl=near_ttl, maxsize=near_maxsize, answer_ttl=ttl
            )
        self._clock = clock
        self._redis = redis
        self._owns_client = False
        self._failures = _redis_failures()
        self._lock_holder = redis.register_script(scripts.LOCK)
        self._index_holder = redis.register_script(scripts.INDEX)
        self._take_index = redis.register_script(scripts.TAKE)
        self._untake_index = redis.register_script(scripts.UNTAKE)
        self._settle = redis.register_script(scripts.SETTLE)
        self._drop_holder = redis.register_script(scripts.DROP)
        self._lock_ms = _milliseconds(lock_timeout)
        self._answer_ms = _milliseconds(ttl + stale_for)
        self._index_ms = self._lock_ms + self._answer_ms

    @classmethod
    def from_url(
        cls, source: BalanceSource, url: str, *, cluster: bool = False, **options: Any
    ) -> RedisCachedBalances:
        """A cache on a new client for ``url`` (``redis://host:port/db``), closed by ``aclose``.

        ``cluster=True`` makes it a ``RedisCluster`` client, ``url`` naming any one node
        (it finds the others). ``options`` are the constructor's. The client gives up on
        an unreachable Redis within a second or two (connect and read timeouts, one
        quick retry); the URL's query may set ``socket_timeout`` and
        ``socket_connect_timeout`` otherwise.
        """
        module = _redis_module()
        kind = module.asyncio.RedisCluster if cluster else module.asyncio.Redis
        client = kind.from_url(
            url,
            socket_connect_timeout=1.0,
            socket_timeout=2.0,
            retry=module.asyncio.retry.Retry(
                module.backoff.ExponentialBackoff(cap=0.1, base=0.01), 1
            ),
        )
        cache = cls(source, client, **options)
        cache._owns_client = True
        return cache

    async def aclose(self) -> None:
        """Stop the change feed; close the Redis client if ``from_url`` made it."""
        await self.changes.aclose()
        if self._owns_client:
            await self._redis.aclose()

    def __repr__(self) -> str:
        return (
            f"RedisCachedBalances({self.source!r}, prefix={self.prefix!r}, ttl={self.ttl}, "
            f"stale_for={self.stale_for})"
        )

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        """The holder's balances, from Redis when fresh (or stale within the window)."""
        return (await self.read(holder)).balances

    def peek(self, holder: Holder) -> Mapping[str, int] | None:
        """The holder's balances if this worker's near cache (``near_ttl``) has a fresh
        answer, without waiting; else ``None`` (then ``read``). The gate's fast path."""
        near = self._near
        return None if near is None else near.peek(holder)

    async def read(self, holder: Holder) -> BalanceReading:
        """The holder's balances and whether they are stale; raises as the source does,
        and ``BalanceUnavailableError`` when Redis fails."""
        near = self._near
        if near is not None:
            kept = near.read(holder)
            if kept is not None:
                self.stats.hits += 1
                return kept
        keys = self._keys(holder)
        # an owner's reader waits for a flight of the same owner (its answer is indexed so)
        mine = keys.digest if holder.owner is None else f"{keys.digest} {holder.owner}"
        flight = self._flights.get(mine) or self._start(holder, keys, mine)
        try:
            answer = await asyncio.shield(flight.task)
        except Exception:
            self.stats.misses += 1
            raise
        if answer.cached:
            self.stats.hits += 1
        else:
            self.stats.misses += 1
        if answer.reading is None:
            raise UnknownHolderError(answer.refusal)
        if answer.reading.stale:
            self.stats.stale_served += 1
        return answer.reading

    def _start(self, holder: Holder, keys: _Keys, mine: str) -> _Flight:
        """A new flight looking the holder up, for this worker's readers to share."""
        self.changes.start_soon()  # to hear the changes that withdraw it
        task = asyncio.create_task(self._look(holder, keys), name=f"balances of {holder!r}")
        flight = self._flights[mine] = _Flight(holder, task)
        task.add_done_callback(lambda _: self._land(mine, flight))
        if self._near is not None:
            task.add_done_callback(self._near.keeper(holder))
        return flight

    async def invalidate(self, holder: Holder) -> int:
        """Forget the holder's answers in every scope, in every worker; fetches under way
        no longer store theirs. How many answers were dropped."""
        every = [self._keys(holder.in_scope(scope)) for scope in BALANCE_SCOPES]
        dropped = await self._drop([keys.digest for keys in every])
        self._withdraw_flights({keys.digest for keys in every})
        await self.changes.send(Change.of(holders=[holder]))
        return dropped

    async def forget(self, *, usernames: Iterable[str] = (), addresses: Iterable[str] = ()) -> int:
        """Forget, in every scope and every worker, the answers for these users (username
        holders, and token holders whose ``owner`` is one of them; names in any case) and
        for every address list holding one of these addresses; fetches under way no
        longer store theirs. How many answers were dropped."""
        names, wanted = forget_targets(usernames, addresses)
        index = [self._user_key(name) for name in names]
        index += [self._address_key(address) for address in wanted]
        if not index:
            return 0
        forget_id = secrets.token_hex(8)
        taken, failure = await self._each(index, lambda key: self._take(key, forget_id))
        digests = list(dict.fromkeys(digest for each in taken.values() for digest in each))
        if failure is not None:
            raise failure
        dropped = await self._drop(digests)
        self._withdraw_flights(set(digests))
        await self.changes.send(Change.of(usernames=names, addresses=wanted))
        _, failure = await self._each(
            [key for key, each in taken.items() if each],
            lambda key: self._untake_index(keys=[_taking(key)], args=[forget_id, *taken[key]]),
            stop=False,
        )
        if failure is not None:
            raise failure
        return dropped

    def _withdraw_flights(self, digests: set[str]) -> None:
        """Let no new reader join a flight of these holders (any owner's), once their
        answers were dropped: begun before, it may have read what was dropped."""
        for mine in [mine for mine in self._flights if mine.partition(" ")[0] in digests]:
            del self._flights[mine]

    def _heard(self, change: Change) -> None:
        """The feed's first listener: let no new reader join a flight the change (this
        worker's or another's) concerns, as for ``_withdraw_flights``; a fetch among them
        finds its lock gone (if the change was a forget) and looks again."""
        for mine in [
            mine for mine, flight in self._flights.items() if change.concerns(flight.holder)
        ]:
            del self._flights[mine]

    async def _take(self, key: str, forget_id: str) -> list[str]:
        """Move an index set's digests into its taking hash and read all that holds,
        marked as this forget's (``TAKE``): the digests it must drop, kept until it has."""
        found = await self._take_index(keys=[key, _taking(key)], args=[self._index_ms, forget_id])
        return _members(found)

    async def _each(
        self, keys: list[str], call: Callable[[str], Awaitable[T]], *, stop: bool = True
    ) -> tuple[dict[str, T], BaseException | None]:
        """``call`` for each key, ``_AT_ONCE`` at a time; the answers by key, and the first
        failure (after which, with ``stop``, no more calls start)."""
        answers: dict[str, T] = {}
        failure: BaseException | None = None
        for start in range(0, len(keys), _AT_ONCE):
            batch = keys[start : start + _AT_ONCE]
            found = await asyncio.gather(
                *(self._call(call(key)) for key in batch), return_exceptions=True
            )
            for key, answer in zip(batch, found, strict=True):
                if isinstance(answer, BaseException):
                    failure = failure or answer
                else:
                    answers[key] = answer
            if failure is not None and stop:
                break
        return answers, failure

    async def _drop(self, digests: list[str]) -> int:
        """Delete the lock and the answer of each holder, both at once (``DROP``, one slot
        per call); how many answers there were."""
        dropped, failure = await self._each(
            digests,
            lambda digest: self._drop_holder(
                keys=[self._lock_key(digest), self._answer_key(digest)]
            ),
        )
        if failure is not None:
            raise failure
        return sum(int(count) for count in dropped.values())

    async def _look(self, holder: Holder, keys: _Keys) -> _Answer:
        """The answer from Redis, or from this worker's fetch, or from another's."""
        loop = asyncio.get_running_loop()
        seen: set[str] = set()
        delay, give_up, first = _FIRST_POLL, loop.time() + 2 * self.lock_timeout, True
        withdrawn = 0
        while True:
            raw, locked_by, failed = await self._call(
                self._redis.mget([keys.answer, keys.lock, keys.failed])
            )
            stored = _decode_answer(raw, holder.owner)
            fresh = self._fresh(stored, cached=first)
            if fresh is not None:
                return fresh
            first = False
            failure = _decode_failure(failed)
            if failure is not None and failure[0] in seen:
                return self._after_failure(stored, failure[1])
            if locked_by is None:
                token = secrets.token_hex(16)
                taken, *now_stored = await self._call(
                    self._lock_holder(keys=[keys.lock, keys.answer], args=[token, self._lock_ms])
                )
                if taken:
                    stored = _decode_answer(now_stored[0] if now_stored else None, holder.owner)
                    fresh = self._fresh(stored, cached=False)
                    if fresh is not None:  # stored by another worker since the look
                        await self._store(keys, token, "release", {}, 0)
                        return fresh
                    await self._indexed(keys, token)
                    answer = await self._fetch(holder, keys, token, stored)
                    if answer is not None:
                        return answer
                    withdrawn += 1  # forgotten (or the lock lost) while fetching: look again
                    if withdrawn >= FETCH_ATTEMPTS:
                        raise BalanceUnavailableError(
                            f"the balances of {holder!r} changed {withdrawn} times while "
                            "being fetched"
                        )
                    continue
            else:
                seen.add(_text(locked_by))
            if loop.time() > give_up:
                raise BalanceUnavailableError(
                    f"waited {2 * self.lock_timeout:g} s for another worker's fetch of {holder!r}"
                )
            await asyncio.sleep(delay)
            delay = min(2 * delay, _LAST_POLL)

    async def _indexed(self, keys: _Keys, token: str) -> None:
        """Record the digest in the holder's index sets, after taking the lock and before
        asking the source (see the module's docstring); failing, give the lock back as a
        failure, for the workers waiting on it."""
        _, failure = await self._each(
            list(keys.index),
            lambda key: self._index_holder(keys=[key], args=[self._index_ms, keys.digest]),
        )
        if failure is not None:
            with contextlib.suppress(Exception):
                await self._store(keys, token, "fail", {"flight": token, "error": str(failure)}, 0)
            raise failure

    async def _fetch(
        self, holder: Holder, keys: _Keys, token: str, stored: _Stored | None
    ) -> _Answer | None:
        """Ask the source while holding the lock; store the answer or the failure.
        ``None`` when the lock was lost meanwhile (forgotten, or past ``lock_timeout``):
        the answer was not stored, and must not be served."""
        self.stats.upstream_calls += 1
        try:
            balances = read_only_balances(await self.source.balances(holder), repr(self.source))
        except UnknownHolderError as error:
            self.stats.upstream_errors += 1
            if self.negative_ttl > 0:
                unknown = {"at": self._clock(), "unknown": str(error), "owner": holder.owner}
                await self._store(keys, token, "keep", unknown, _milliseconds(self.negative_ttl))
            else:
                await self._store(keys, token, "drop", {}, 0)
            raise
        except BalanceUnavailableError as error:
            self.stats.upstream_errors += 1
            held = await self._store(keys, token, "fail", {"flight": token, "error": str(error)}, 0)
            stale = self._stale(stored) if held else None  # forgotten: the old one too
            if stale is None:
                raise
            return _Answer(stale, "", cached=False)
        except BaseException as error:
            self.stats.upstream_errors += 1
            failure = {"flight": token, "error": f"the fetch failed ({type(error).__name__})"}
            with contextlib.suppress(Exception):
                await self._store(keys, token, "fail", failure, 0)
            raise
        answer = {"at": self._clock(), "balances": dict(balances), "owner": holder.owner}
        if not await self._store(keys, token, "keep", answer, self._answer_ms):
            return None
        if stored is not None and stored.balances is not None and stored.balances != balances:
            await self.changes.send(Change.of(holders=[holder]), must_reach=False)
        return _Answer(BalanceReading(balances, stale=False, age=0.0), "", cached=False)

    async def _store(
        self, keys: _Keys, token: str, mode: str, value: Mapping[str, object], ms: int
    ) -> bool:
        """Settle the fetch: release the lock and keep, drop or fail (``SETTLE``); whether
        the lock was still this fetch's (else nothing was stored)."""
        ms = ms or self._lock_ms
        text = json.dumps(value, separators=(",", ":"))
        held = await self._call(
            self._settle(keys=[keys.lock, keys.answer, keys.failed], args=[token, mode, text, ms])
        )
        return bool(held)

    def _fresh(self, stored: _Stored | None, *, cached: bool) -> _Answer | None:
        """The stored answer if still fresh (an unknown holder within ``negative_ttl``)."""
        if stored is None:
            return None
        age = max(0.0, self._clock() - stored.fetched_at)
        if stored.balances is None:
            return _Answer(None, stored.refusal, cached) if age < self.negative_ttl else None
        if age < self.ttl:
            return _Answer(BalanceReading(stored.balances, stale=False, age=age), "", cached)
        return None

    def _stale(self, stored: _Stored | None) -> BalanceReading | None:
        """The stored balances as a stale reading, if within the window."""
        if stored is None or stored.balances is None:
            return None
        age = max(0.0, self._clock() - stored.fetched_at)
        if age >= self.ttl + self.stale_for:
            return None
        return BalanceReading(stored.balances, stale=True, age=age)

    def _after_failure(self, stored: _Stored | None, error: str) -> _Answer:
        """Another worker's fetch (that this one waited on) failed: stale, or the error."""
        stale = self._stale(stored)
        if stale is None:
            raise BalanceUnavailableError(error)
        return _Answer(stale, "", cached=False)

    async def _call(self, operation: Awaitable[T]) -> T:
        """Await a Redis operation within ``redis_timeout``; its failure or a Redis that
        does not answer in time is a ``BalanceUnavailableError``."""
        try:
            async with asyncio.timeout(self.redis_timeout):
                return await operation
        except TimeoutError as error:
            raise BalanceUnavailableError(
                f"the Redis balance cache did not answer within {self.redis_timeout:g} s"
            ) from error
        except self._failures as error:
            raise BalanceUnavailableError(
                f"the Redis balance cache failed ({type(error).__name__})"
            ) from error

    def _land(self, mine: str, flight: _Flight) -> None:
        """Forget a finished flight; its exception is marked seen, as its waiters got it."""
        if self._flights.get(mine) is flight:
            del self._flights[mine]
        if not flight.task.cancelled():
            flight.task.exception()

    def _keys(self, holder: Holder) -> _Keys:
        value = list(holder.value) if isinstance(holder.value, tuple) else holder.value
        identity = json.dumps([holder.kind.value, holder.scope, value])
        digest = hashlib.sha256(identity.encode()).hexdigest()
        names, addresses = identity_names(holder)
        index = tuple(self._user_key(name) for name in names)
        index += tuple(self._address_key(address) for address in addresses)
        return _Keys(
            digest=digest,
            answer=self._answer_key(digest),
            lock=self._lock_key(digest),
            failed=f"{self.prefix}failed:{{{digest}}}",
            index=index,
        )

    def _answer_key(self, digest: str) -> str:
        return f"{self.prefix}balances:{{{digest}}}"

    def _lock_key(self, digest: str) -> str:
        return f"{self.prefix}lock:{{{digest}}}"

    def _user_key(self, name: str) -> str:
        return f"{self.prefix}user:{{{hashlib.sha256(name.encode()).hexdigest()}}}"

    def _address_key(self, address: str) -> str:
        return f"{self.prefix}address:{{{hashlib.sha256(address.encode()).hexdigest()}}}"


def _decode_answer(raw: bytes | str | None, owner: str | None) -> _Stored | None:
    """A stored answer, or None when absent or not one this cache wrote (refetched), or,
    for a token holder with an ``owner``, not fetched with that owner: then it is not in
    the owner's index set, out of a ``forget`` of the owner's reach, so it is fetched
    again (indexed under the owner first)."""
    if raw is None:
        return None
    try:
        found = json.loads(raw)
        if owner is not None and found.get("owner") != owner:
            return None
        fetched_at = found["at"]
        if not isinstance(fetched_at, (int, float)) or isinstance(fetched_at, bool):
            return None
        if "unknown" in found:
            return _Stored(float(fetched_at), None, shorten(str(found["unknown"]), 500))
        return _Stored(float(fetched_at), read_only_balances(found["balances"], "Redis"))
    except (ValueError, TypeError, KeyError, AttributeError, BalanceUnavailableError):
        return None


def _decode_failure(raw: bytes | str | None) -> tuple[str, str] | None:
    """The failed fetch's token and error, or None."""
    if raw is None:
        return None
    try:
        found = json.loads(raw)
        return str(found["flight"]), shorten(str(found["error"]), 500)
    except (ValueError, TypeError, KeyError):
        return None


def _members(found: object) -> list[str]:
    """The digests ``TAKE`` returned."""
    return [_text(digest) for digest in found] if isinstance(found, list) else []


def _taking(index: str) -> str:
    """The taking hash of an index set: in its slot, as the hash tag is the same."""
    return f"{index}:taking"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _redis_failures() -> tuple[type[BaseException], ...]:
    """The exceptions a Redis call fails with."""
    exceptions = _redis_module().exceptions
    return (exceptions.RedisError, exceptions.RedisClusterException, OSError)


def _redis_module() -> Any:
    try:
        import redis  # noqa: PLC0415
        import redis.asyncio  # noqa: PLC0415
        import redis.asyncio.retry  # noqa: PLC0415
        import redis.backoff  # noqa: PLC0415
        import redis.exceptions  # noqa: PLC0415
    except ImportError as error:
        raise ImportError(
            "RedisCachedBalances needs redis-py: pip install 'tca-gate[redis]'"
        ) from error
    return redis
