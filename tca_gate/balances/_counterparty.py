"""``CounterpartyBalances``: live balances read from a Counterparty Core node (API v2).

Addresses' holdings are summed in TCA base units (10^8 a token): a divisible asset's
quantity as it is, an indivisible one's times 10^8; balances attached to UTXOs count for
the address that owns the UTXO; a subasset is named by its long name (``PARENT.child``),
as rules name it. An asset's divisibility, fixed when it is first issued, is asked once
and kept (a bounded LRU). Addresses are asked about ``batch_size`` at a time (50 by
default: 50 addresses of up to 62 characters make a query of about 3.2 kB, within the
4 kB request line many proxies accept), every page followed to the end.

A node that is catching up, fails, does not answer in time or answers what cannot be
read gives ``BalanceUnavailableError`` (a gate answers 503) once the bounded retries
are spent: never a guess. The whole question is bounded by ``deadline`` seconds.

Usernames and Tokenpass logins: with an ``address_book`` (a mapping of username to
addresses, or a function of the username returning them, awaitable or not) a
``Holder.user`` is the sum over the user's addresses. With ``tokenpass`` (an
``AsyncTokenpassClient``) the book defaults to the user's public, active, verified
addresses there, a ``Holder.token`` is read over the token's user's addresses (private
ones too in the ``protected`` scope), and this app's live promises are added as
``tca/check`` counts them: promises to an address or to ``user:{name}`` added, promises
from an address taken away. Tokenpass lists an app only its own promises.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from cachetools import LRUCache

from tca_gate.errors import (
    AuthenticationError,
    BalanceUnavailableError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
    UnknownHolderError,
)
from tca_gate.extras import require_extra
from tca_gate.observe import fetch
from tca_gate.rules import SATOSHIS_PER_TOKEN

from ._cache_protocol import check_seconds
from ._holder import Holder, HolderKind, Scope
from ._source import gate_retries, read_only_balances, summed

if TYPE_CHECKING:
    import httpx2

    from tca_gate.counterparty import AssetHoldings, AsyncCounterpartyClient, RetryPolicy
    from tca_gate.tokenpass import AsyncTokenpassClient

T = TypeVar("T")

#: Where a user's addresses come from: a mapping, or a function of the username (``None``
#: or a missing key: no such user).
AddressBook: TypeAlias = (
    Mapping[str, Iterable[str]]
    | Callable[[str], Iterable[str] | Awaitable[Iterable[str] | None] | None]
)

#: Addresses a request asks about: about 3.2 kB of query at most (see the module).
DEFAULT_BATCH_SIZE = 50
#: Batches asked about at once.
CONCURRENT_BATCHES = 4
#: Seconds one balances question may take in all, every call and retry included.
DEFAULT_DEADLINE = 5.0
#: Seconds each attempt may wait for the node.
DEFAULT_TIMEOUT = 2.0
#: Assets whose divisibility is kept.
DIVISIBILITY_CACHE_SIZE = 4096

#: Tokenpass's answers about the holder itself (unknown, token refused).
_REFUSALS = (NotFoundError, AuthenticationError, PermissionDeniedError)


class CounterpartyBalances:
    """A ``BalanceSource`` on a Counterparty Core API v2 at ``base_url`` (see the module).

    ``timeout`` bounds each attempt, ``deadline`` the whole question; ``retries`` (a
    ``RetryPolicy`` or a number) defaults to two quick retries within the deadline.
    Close it with ``aclose()``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        retries: RetryPolicy | int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        page_size: int = 100,
        address_book: AddressBook | None = None,
        tokenpass: AsyncTokenpassClient | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        require_extra("counterparty", "httpx2", "stamina", needed_by="CounterpartyBalances")
        import httpx2  # noqa: PLC0415

        from tca_gate.counterparty import MAX_LIMIT, AsyncCounterpartyClient  # noqa: PLC0415

        check_seconds("timeout", timeout, low=0.0, high=math.inf, open_low=True)
        check_seconds("deadline", deadline, low=0.0, high=math.inf, open_low=True)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgumentError(f"batch_size must be a positive int, not {batch_size!r}")
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            raise InvalidArgumentError(f"page_size must be an int, not {page_size!r}")
        if not 1 <= page_size <= MAX_LIMIT:
            raise InvalidArgumentError(f"page_size must be from 1 to {MAX_LIMIT}, not {page_size}")
        if address_book is not None and not isinstance(address_book, Mapping | Callable):
            raise InvalidArgumentError(
                f"address_book must be a mapping or a function of the username, "
                f"not {type(address_book).__name__}"
            )
        self.client: AsyncCounterpartyClient = AsyncCounterpartyClient(
            base_url,
            timeout=httpx2.Timeout(timeout, connect=min(1.0, timeout)),
            retries=gate_retries(deadline) if retries is None else retries,
            transport=transport,
        )
        self.deadline = deadline
        self.batch_size = batch_size
        self.page_size = page_size
        self.address_book = address_book
        self.tokenpass = tokenpass
        self._divisible: LRUCache[str, bool] = LRUCache(maxsize=DIVISIBILITY_CACHE_SIZE)

    def __repr__(self) -> str:
        return f"CounterpartyBalances({self.client.base_url})"

    async def aclose(self) -> None:
        """Close the connections to the node (a ``tokenpass`` client stays the caller's)."""
        await self.client.aclose()

    @fetch("counterparty")
    async def balances(self, holder: Holder) -> Mapping[str, int]:
        """The holder's balances; ``UnknownHolderError`` or ``BalanceUnavailableError`` else."""
        try:
            async with asyncio.timeout(self.deadline):
                answer = await self._ask(holder)
        except TimeoutError:
            raise BalanceUnavailableError(
                f"the balances of {holder!r} were not read within {self.deadline:g} s"
            ) from None
        except ServiceError as error:
            if error.service == "Tokenpass" and isinstance(error, _REFUSALS):
                raise UnknownHolderError(f"Tokenpass does not know {holder!r}: {error}") from error
            raise BalanceUnavailableError(
                f"the balances of {holder!r} cannot be read now: {error}"
            ) from error
        return read_only_balances(answer, "Counterparty")

    async def _ask(self, holder: Holder) -> dict[str, int]:
        username: str | None = None
        if holder.kind is HolderKind.ADDRESSES:
            assert isinstance(holder.value, tuple)
            addresses: tuple[str, ...] = holder.value
        elif holder.kind is HolderKind.USERNAME:
            username = str(holder.value)
            addresses = await self._addresses_of(username, holder.scope)
        else:
            username, addresses = await self._login(str(holder.value), holder.scope, holder.owner)
        holdings = [await self._chain(addresses)] if addresses else []
        if self.tokenpass is not None:
            holdings.append(await self._promised(addresses, username))
        return summed(holdings)

    async def _addresses_of(self, username: str, scope: Scope) -> tuple[str, ...]:
        """The user's addresses from the address book, or Tokenpass's public ones."""
        book = self.address_book
        if book is None:
            if self.tokenpass is None:
                raise UnknownHolderError(
                    f"no address book: CounterpartyBalances cannot name the addresses of "
                    f"user {username!r}"
                )
            if scope == "protected":
                raise InvalidArgumentError(
                    "Tokenpass gives a user's private addresses only by their OAuth token: "
                    f"ask for {Holder.user(username)!r} or use the token"
                )
            found = await self.tokenpass.get_public_addresses(username)
            return tuple(address.address for address in found)
        listed = book.get(username) if isinstance(book, Mapping) else book(username)
        if inspect.isawaitable(listed):
            listed = await listed
        if listed is None:
            raise UnknownHolderError(f"the address book has no user {username!r}")
        if isinstance(listed, str):
            raise InvalidArgumentError(
                f"the address book gave one string for {username!r}, not a list of addresses"
            )
        return tuple(dict.fromkeys(listed))

    async def _login(
        self, token: str, scope: Scope, owner: str | None
    ) -> tuple[str, tuple[str, ...]]:
        """A Tokenpass login's username and its user's active, verified addresses in scope:
        the public ones by username, every one through the token (``protected``)."""
        if self.tokenpass is None:
            raise UnknownHolderError("without tokenpass, CounterpartyBalances cannot read a login")
        username = owner or (await self.tokenpass.get_oauth_user(token)).username
        if scope == "public":
            return username, await self._addresses_of(username, scope)
        found = await self.tokenpass.get_addresses_for_authenticated_user(token)
        if any(address.active is None or address.verified is None for address in found):
            raise InvalidArgumentError(
                "a protected login read from Counterparty needs the manage-address scope: "
                "without it Tokenpass does not say which addresses are active and verified"
            )
        return username, tuple(
            address.address for address in found if address.active and address.verified
        )

    async def _promised(self, addresses: tuple[str, ...], username: str | None) -> dict[str, int]:
        """This app's live promises to the addresses (or ``user:{name}``), less those from them."""
        assert self.tokenpass is not None
        ours = set(addresses)
        to_user = None if username is None else f"user:{username}"
        change: dict[str, int] = {}
        for promise in await self.tokenpass.get_promised_transaction_list():
            if promise.destination in ours or promise.destination == to_user:
                change[promise.asset] = change.get(promise.asset, 0) + promise.quantity
            if promise.source in ours:
                change[promise.asset] = change.get(promise.asset, 0) - promise.quantity
        return change

    async def _chain(self, addresses: tuple[str, ...]) -> dict[str, int]:
        """What the addresses hold on chain, in TCA base units by rule name.

        Every row counts once: a batch answering for an address it was not asked
        about, a row (asset, address, UTXO) seen twice (a page repeated, a holder listed
        twice) or two assets under one rule name is a ``BalanceUnavailableError``, never
        a sum that could be too high.
        """
        addresses = tuple(dict.fromkeys(addresses))
        size = self.batch_size
        batches = [addresses[start : start + size] for start in range(0, len(addresses), size)]
        gate = asyncio.Semaphore(CONCURRENT_BATCHES)

        async def batch(of: tuple[str, ...]) -> tuple[tuple[str, ...], list[AssetHoldings]]:
            async with gate:
                return of, await self.client.every_addresses_balance(
                    of, type="all", page_size=self.page_size
                )

        units: dict[str, int] = {}
        names: dict[str, str] = {}
        seen: set[tuple[str, str, str | None]] = set()
        for of, groups in await _all([batch(of) for of in batches]):
            asked = set(of)
            for group in groups:
                for held in group.holdings:
                    if held.owner not in asked:
                        raise BalanceUnavailableError(
                            f"Counterparty answered for an address not asked about ({held.owner})"
                        )
                    row = (group.asset, held.owner, held.utxo)
                    if row in seen:
                        raise BalanceUnavailableError(
                            f"Counterparty listed {group.asset} of {held.owner} twice"
                        )
                    seen.add(row)
                if names.setdefault(group.asset, group.name) != group.name:
                    raise BalanceUnavailableError(
                        f"Counterparty named asset {group.asset} two ways"
                    )
                units[group.asset] = units.get(group.asset, 0) + group.total
        by_name: dict[str, str] = {}
        for asset, name in names.items():
            if by_name.setdefault(name, asset) != asset:
                raise BalanceUnavailableError(
                    f"two Counterparty assets ({by_name[name]}, {asset}) go by the name {name}"
                )
        divisible = await self._divisibility(list(units))
        return {
            names[asset]: quantity if divisible[asset] else quantity * SATOSHIS_PER_TOKEN
            for asset, quantity in units.items()
        }

    async def _divisibility(self, assets: list[str]) -> dict[str, bool]:
        """Whether each asset is divisible: kept ones at once, the others asked for (an
        answer about another asset than the one asked is refused, and not kept)."""
        known = {asset: self._divisible[asset] for asset in assets if asset in self._divisible}
        unknown = [asset for asset in assets if asset not in known]
        for asked, found in zip(
            unknown, await _all([self.client.asset(asset) for asset in unknown]), strict=True
        ):
            if found.asset != asked:
                raise BalanceUnavailableError(
                    f"Counterparty answered about {found.asset} when asked about {asked}"
                )
            known[asked] = self._divisible[asked] = found.divisible
        return known


async def _all(calls: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Every call's value, run at once; the first failure is raised, the others cancelled."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call) for call in calls]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]
