"""What a balance cache tells others when answers are withdrawn: ``Change`` and ``ChangeFeed``.

A cache publishes a ``Change`` whenever it forgets answers (``forget``, ``invalidate``,
``clear``) or refetches a holder whose balances then differ from the answer it had. Who
listens: whatever acted on an answer and must act again when it goes, such as the gate's
open websockets (judged again) or a worker's near cache (dropped). A ``Change`` names its
holders by digests only (SHA-256 of a lower-case username, an address, or a holder's kind
and value), so it can cross a Redis channel without a token in it.

``ChangeFeed`` is the feed of one cache within one process: ``subscribe`` a listener,
``publish`` a change to each one. A feed that carries changes between processes (the
Redis cache's) is ``live`` only while it is sure to hear every change; while it is not,
listeners must not trust what they keep (``live`` False), and it publishes
``Change.EVERYTHING`` when it may have missed one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from ._holder import Holder, HolderKind

_log = logging.getLogger("tca_gate.balances")

#: A listener: called on the event loop with each change; it must not block.
Listener = Callable[["Change"], None]


def name_digest(name: str) -> str:
    """The digest a username (lower-cased by the caller) or an address is known by."""
    return hashlib.sha256(name.encode()).hexdigest()


def holder_digest(holder: Holder) -> str:
    """The digest of a holder's kind and value, whatever its scope (a change to one
    scope's answer concerns the holder in every scope)."""
    value = list(holder.value) if isinstance(holder.value, tuple) else holder.value
    return name_digest(json.dumps([holder.kind.value, value]))


def _identity_digests(holder: Holder) -> tuple[frozenset[str], frozenset[str]]:
    """The digests of the usernames and addresses ``forget`` finds ``holder`` by."""
    if holder.kind is HolderKind.ADDRESSES:
        assert isinstance(holder.value, tuple)
        return frozenset(), frozenset(name_digest(address) for address in holder.value)
    name = holder.value if holder.kind is HolderKind.USERNAME else holder.owner
    users = frozenset((name_digest(str(name).lower()),)) if name is not None else frozenset()
    return users, frozenset()


#: What a change may name a holder by: its part ("users", "addresses" or "holders") and
#: the digest there (a username's digest is no address's, whatever the names).
Mark = tuple[str, str]


def holder_marks(holder: Holder) -> tuple[Mark, ...]:
    """Every mark a change concerning ``holder`` names it by (``Change.marks``).

    >>> marks = holder_marks(Holder.token("t", owner="Bob"))
    >>> [part for part, _ in marks]
    ['holders', 'users']
    >>> bool(set(Change.of(usernames=["BOB"]).marks()) & set(marks))
    True
    """
    users, addresses = _identity_digests(holder)
    return (
        ("holders", holder_digest(holder)),
        *(("users", digest) for digest in users),
        *(("addresses", digest) for digest in addresses),
    )


@dataclass(frozen=True, slots=True)
class Change:
    """Answers withdrawn from a cache: those of the users, the addresses and the holders
    named here by digest, or (``everything``) any answer at all.

    >>> change = Change.of(usernames=["Bob"])
    >>> change.concerns(Holder.user("bob")), change.concerns(Holder.token("t", owner="BOB"))
    (True, True)
    >>> change.concerns(Holder.user("alice")), Change.EVERYTHING.concerns(Holder.user("alice"))
    (False, True)
    >>> Change.of(holders=[Holder.token("t")]).concerns(Holder.token("t"))
    True
    >>> Change.from_json(change.to_json()) == change
    True
    """

    users: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()
    holders: frozenset[str] = frozenset()
    everything: bool = False

    #: Any answer may have changed: a cache cleared, or a feed that may have missed one.
    EVERYTHING: ClassVar[Change]

    @classmethod
    def of(
        cls,
        *,
        usernames: Iterable[str] = (),
        addresses: Iterable[str] = (),
        holders: Iterable[Holder] = (),
    ) -> Change:
        """The change withdrawing these users' (any case), addresses' and holders' answers."""
        return cls(
            frozenset(name_digest(name.lower()) for name in usernames),
            frozenset(name_digest(address) for address in addresses),
            frozenset(holder_digest(holder) for holder in holders),
        )

    def __bool__(self) -> bool:
        return self.everything or bool(self.users or self.addresses or self.holders)

    def concerns(self, holder: Holder) -> bool:
        """Whether the holder's answers may be among those withdrawn."""
        if self.everything:
            return True
        if self.holders and holder_digest(holder) in self.holders:
            return True
        users, addresses = _identity_digests(holder)
        return not (users.isdisjoint(self.users) and addresses.isdisjoint(self.addresses))

    def marks(self) -> Iterator[Mark]:
        """The marks of the holders named (none for ``everything``): a holder is concerned
        when one of its ``holder_marks`` is among them, so an index by mark finds it."""
        for part, digests in (
            ("users", self.users),
            ("addresses", self.addresses),
            ("holders", self.holders),
        ):
            for digest in digests:
                yield part, digest

    def to_json(self) -> str:
        """The change as a JSON text (digests only), for a channel between processes."""
        if self.everything:
            return json.dumps({"everything": True})
        return json.dumps(
            {
                "users": sorted(self.users),
                "addresses": sorted(self.addresses),
                "holders": sorted(self.holders),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Change:
        """A change read back from ``to_json``; anything else is ``EVERYTHING`` (a message
        that cannot be read may have named anyone)."""
        try:
            found = json.loads(text)
            if found.get("everything") is True:
                return cls.EVERYTHING
            digests = [found[part] for part in ("users", "addresses", "holders")]
            if not all(isinstance(part, list) for part in digests):
                return cls.EVERYTHING
            users, addresses, holders = (frozenset(map(str, part)) for part in digests)
            return cls(users, addresses, holders)
        except (ValueError, TypeError, AttributeError, KeyError):
            return cls.EVERYTHING

    def __repr__(self) -> str:
        if self.everything:
            return "Change.EVERYTHING"
        return (
            f"Change(users={len(self.users)}, addresses={len(self.addresses)}, "
            f"holders={len(self.holders)})"
        )


Change.EVERYTHING = Change(everything=True)


class ChangeFeed:
    """The changes of one cache, told to each listener in this process.

    >>> feed, seen = ChangeFeed(), []
    >>> stop = feed.subscribe(seen.append)
    >>> feed.publish(Change.of(usernames=["bob"]))
    >>> stop()
    >>> feed.publish(Change.EVERYTHING)
    >>> seen
    [Change(users=1, addresses=0, holders=0)]

    ``start`` and ``aclose`` are there for every feed, so that code given any cache can
    call them: for this one there is nothing to start or stop.

    >>> import asyncio
    >>> asyncio.run(feed.start())
    True
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    @property
    def live(self) -> bool:
        """Whether every change is heard: always, for a cache in this process."""
        return True

    async def start(self) -> bool:
        """Start hearing changes, if the feed must (``RedisChangeFeed``); whether it is live."""
        return self.live

    async def aclose(self) -> None:
        """Stop hearing changes, if the feed ever started (``RedisChangeFeed``)."""

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Tell ``listener`` of every change from now on; returns the call that stops it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, change: Change) -> None:
        """Tell every listener of ``change`` (nothing if it names nobody); a listener that
        raises is logged and the others are still told."""
        if not change:
            return
        for listener in tuple(self._listeners):
            try:
                listener(change)
            except Exception:
                _log.exception("a balance change listener failed")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(listeners={len(self._listeners)}, live={self.live})"
