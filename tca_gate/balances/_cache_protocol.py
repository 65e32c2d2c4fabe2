"""What every balance cache shares: the reading it gives, its counters, the ``BalanceCache``
protocol, and how holders are named for ``forget``."""

from __future__ import annotations

from collections.abc import Awaitable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from tca_gate.errors import InvalidArgumentError, shorten

from ._holder import Holder, HolderKind

T = TypeVar("T")

#: The longest ``stale_for`` accepted: past this, stale balances are a wrong answer.
MAX_STALE_FOR = 300.0
#: How many fetches one read starts or joins before giving up on balances that keep being
#: withdrawn while fetched (then a ``BalanceUnavailableError``: a 503, never the old answer).
FETCH_ATTEMPTS = 3
#: How long an unknown holder is remembered by default (never longer than the ``ttl``).
NEGATIVE_TTL = 5.0


@dataclass(frozen=True, slots=True)
class BalanceReading:
    """Balances as the cache gave them; ``stale`` when the upstream failed and an older
    answer was served, ``age`` the seconds since that answer was fetched."""

    balances: Mapping[str, int]
    stale: bool
    age: float


@dataclass(slots=True)
class CacheStats:
    """Counters of a cache: requests answered from the cache (``hits``) or not
    (``misses``), calls made to the source and how many failed, stale answers served."""

    hits: int = 0
    misses: int = 0
    upstream_calls: int = 0
    upstream_errors: int = 0
    stale_served: int = 0


class BalanceCache(Protocol):
    """A ``BalanceSource`` that keeps answers and can forget them by identity.

    ``forget`` drops every answer for those users (their username holders, and their
    token holders whose ``owner`` is known) or for address lists holding one of those
    addresses, in every scope, and keeps fetches under way from storing theirs; it
    returns how many cached answers were dropped. ``invalidate`` forgets one holder in
    every scope; awaiting it is optional where the cache works at once (in memory).
    """

    async def balances(self, holder: Holder) -> Mapping[str, int]:
        """The holder's balances in satoshis (base units) by asset."""
        ...

    async def read(self, holder: Holder) -> BalanceReading:
        """The holder's balances and whether they are stale."""
        ...

    async def forget(self, *, usernames: Iterable[str] = (), addresses: Iterable[str] = ()) -> int:
        """Drop the answers of these users and addresses; how many were dropped."""
        ...

    def invalidate(self, holder: Holder) -> Awaitable[int]:
        """Drop the holder's answers in every scope; how many were dropped."""
        ...


class Done(Generic[T]):
    """An awaitable whose work is already done: ``await`` gives ``value`` at once.

    >>> import asyncio
    >>> async def main():
    ...     return await Done(3)
    >>> asyncio.run(main())
    3
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, T]:
        return self.value
        yield  # unreached: makes this a generator that never suspends

    def __repr__(self) -> str:
        return f"Done({self.value!r})"


def identity_names(holder: Holder) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The usernames (lower case) and addresses ``forget`` finds ``holder`` by.

    >>> identity_names(Holder.user("Alice"))
    (('alice',), ())
    >>> identity_names(Holder.token("t", owner="Bob"))
    (('bob',), ())
    >>> identity_names(Holder.addresses(["1B", "1A"]))
    ((), ('1A', '1B'))
    """
    if holder.kind is HolderKind.ADDRESSES:
        assert isinstance(holder.value, tuple)
        return (), holder.value
    name = holder.value if holder.kind is HolderKind.USERNAME else holder.owner
    return ((str(name).lower(),) if name is not None else ()), ()


def forget_targets(
    usernames: Iterable[str], addresses: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``forget``'s arguments checked: usernames in lower case (Tokenpass names ignore case),
    addresses as given; repeats dropped.

    >>> forget_targets(["Bob", "bob"], ["1A"])
    (('bob',), ('1A',))
    >>> forget_targets("bob", ())
    Traceback (most recent call last):
    ...
    tca_gate.errors.InvalidArgumentError: usernames must be a list of usernames, not one string
    """
    names = _names("usernames", usernames)
    return tuple(dict.fromkeys(name.lower() for name in names)), _names("addresses", addresses)


def _names(what: str, given: Iterable[str]) -> tuple[str, ...]:
    if isinstance(given, (str, bytes)):
        raise InvalidArgumentError(f"{what} must be a list of {what}, not one string")
    found: dict[str, None] = {}
    for index, name in enumerate(given):
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(
                f"{what}[{index}] must be a non-empty string, not {shorten(repr(name))}"
            )
        found[name] = None
    return tuple(found)


def check_seconds(
    name: str, value: float, *, low: float, high: float, open_low: bool = False
) -> None:
    """Refuse a duration that is not a number in ``[low, high]`` (``(low, high]`` if open)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    inside = number and (low < value if open_low else low <= value) and value <= high
    if not inside:
        bound = "(" if open_low else "["
        raise InvalidArgumentError(
            f"{name} must be seconds in {bound}{low:g}, {high:g}], not {value!r}"
        )


def default_negative_ttl(ttl: float, negative_ttl: float | None) -> float:
    """``negative_ttl`` checked against ``ttl`` (``[0, ttl]``); ``None``: the lesser of
    ``NEGATIVE_TTL`` and ``ttl``, so a short ``ttl`` alone is a valid setting.

    >>> default_negative_ttl(1.0, None), default_negative_ttl(30.0, None)
    (1.0, 5.0)
    """
    if negative_ttl is None:
        return min(NEGATIVE_TTL, ttl)
    check_seconds("negative_ttl", negative_ttl, low=0.0, high=ttl)
    return negative_ttl
